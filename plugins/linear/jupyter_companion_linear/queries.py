"""The GraphQL documents this plugin sends to Linear: fixed text, every value a variable.

Field names are Linear's public schema's (``searchIssues``, ``issueCreate``, ``Team.states``,
``WorkflowState.type`` of ``triage|backlog|unstarted|started|completed|canceled`` ...). Nothing
a user types is ever put into a document: it goes in ``variables``.
"""

ISSUE_FIELDS = """
  id identifier title description url priority
  state { id name type }
  team { id key name }
  assignee { id name email }
  labels { nodes { id name } }
"""

VIEWER = """
query Viewer {
  viewer { id name email organization { id name urlKey } }
}
"""

TEAMS = """
query Teams {
  teams(first: 100) { nodes { id key name } }
}
"""

TEAM_STATES = """
query TeamStates($teamId: String!) {
  team(id: $teamId) { id key name states(first: 100) { nodes { id name type position } } }
}
"""

SEARCH_ISSUES = f"""
query SearchIssues($term: String!, $first: Int, $teamId: String) {{
  searchIssues(term: $term, first: $first, teamId: $teamId) {{ nodes {{ {ISSUE_FIELDS} }} }}
}}
"""

ISSUE = f"""
query Issue($id: String!) {{
  issue(id: $id) {{
    {ISSUE_FIELDS}
    comments(last: 5) {{ nodes {{ id body createdAt user {{ name }} }} }}
  }}
}}
"""

ISSUE_CREATE = f"""
mutation IssueCreate($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}
"""

ISSUE_UPDATE = f"""
mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {{
  issueUpdate(id: $id, input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}
"""

COMMENT_CREATE = """
mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id } }
}
"""
