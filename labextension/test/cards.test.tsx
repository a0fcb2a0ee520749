import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ToolCard, ToolInputPreview, cardKind, exitCode, resultText, toolTitle } from '../src/components/cards';
import { compactDiff, diffLines } from '../src/model/diff';
import { ToolResult } from '../src/model/chatState';

function card(name: string, input: Record<string, unknown>, result?: Partial<ToolResult>, extra: object = {}): string {
  const full = result ? ({ content: '', isError: false, seq: 1, ...result } as ToolResult) : undefined;
  return renderToStaticMarkup(
    <ToolCard block={{ type: 'tool_use', id: 't1', name, input }} result={full} {...extra} />
  );
}

describe('tool cards', () => {
  it('maps tool names to renderers', () => {
    expect(cardKind('Bash')).toBe('bash');
    expect(cardKind('MultiEdit')).toBe('edit');
    expect(cardKind('Glob')).toBe('search');
    expect(cardKind('WebSearch')).toBe('web');
    expect(cardKind('Agent')).toBe('task');
    expect(cardKind('mcp__github__create_issue')).toBe('generic');
    expect(toolTitle('mcp__github__create_issue')).toBe('github · create_issue');
  });

  it('renders Bash with command, output and exit code', () => {
    const html = card('Bash', { command: 'ls -la', description: 'List' }, { content: 'a\nb' });
    expect(html).toContain('ls -la');
    expect(html).toContain('List');
    expect(html).toContain('a\nb');
    expect(html).toContain('exit 0');
    expect(html).toContain('jp-mod-done');
    const failed = card('Bash', { command: 'false' }, { content: { output: 'boom', exit_code: 2 }, isError: true });
    expect(failed).toContain('exit 2');
    expect(failed).toContain('boom');
    expect(failed).toContain('jp-mod-error');
  });

  it('marks a Bash card waiting for permission, then running', () => {
    expect(card('Bash', { command: 'rm x' }, undefined, { waiting: true })).toContain('jp-mod-waiting');
    expect(card('Bash', { command: 'rm x' })).toContain('jp-mod-running');
  });

  it('renders Edit as a real diff and Codex changes as a list', () => {
    const html = card('Edit', { file_path: '/w/a.py', old_string: 'x = 1\ny = 2\n', new_string: 'x = 1\ny = 3\n' }, {});
    expect(html).toContain('/w/a.py');
    expect(html).toContain('- y = 2');
    expect(html).toContain('+ y = 3');
    expect(html).toContain('  x = 1');
    const changes = card('Edit', { changes: [{ path: 'b.txt', kind: 'add', diff: '+hello' }] });
    expect(changes).toContain('b.txt');
    expect(changes).toContain('+hello');
    expect(changes).toContain('add');
    const multi = card('MultiEdit', { file_path: 'c', edits: [{ old_string: 'a', new_string: 'b' }, { old_string: 'c', new_string: 'd' }] });
    expect(multi).toContain('- a');
    expect(multi).toContain('+ d');
  });

  it('renders Write as a new-file diff', () => {
    const html = card('Write', { file_path: 'new.txt', content: 'one\ntwo\n' }, {});
    expect(html).toContain('new file');
    expect(html).toContain('+ one');
    expect(html).toContain('+ two');
  });

  it('renders Read, Grep and WebFetch fields', () => {
    expect(card('Read', { file_path: '/w/r.md', offset: 10, limit: 5 }, { content: 'text' })).toMatch(/\/w\/r\.md[\s\S]*offset[\s\S]*10/);
    const grep = card('Grep', { pattern: 'TODO', glob: '*.py', output_mode: 'content' });
    expect(grep).toContain('TODO');
    expect(grep).toContain('*.py');
    expect(card('WebFetch', { url: 'https://example.org', prompt: 'summary' })).toContain('https://example.org');
    expect(card('WebSearch', { query: 'jupyter' })).toContain('jupyter');
  });

  it('renders TodoWrite as a checklist', () => {
    const html = card('TodoWrite', {
      todos: [
        { content: 'write tests', status: 'completed', activeForm: 'Writing tests' },
        { content: 'ship', status: 'in_progress', activeForm: 'Shipping' }
      ]
    });
    expect(html).toContain('checked=""');
    expect(html).toContain('jp-mod-completed');
    expect(html).toContain('Shipping');
  });

  it('renders Task with its subagent messages', () => {
    const html = card(
      'Task',
      { description: 'Explore', subagent_type: 'Explore', prompt: 'look around' },
      undefined,
      {
        children: [
          { kind: 'assistant', key: 'a', seq: 2, messageId: 'm', blocks: [{ type: 'text', text: 'sub answer' }], parentToolUseId: 't1' }
        ]
      }
    );
    expect(html).toContain('Explore');
    expect(html).toContain('sub answer');
    expect(html).toContain('Subagent messages');
  });

  it('renders MCP and unknown tools as a generic card', () => {
    const html = card('mcp__db__query', { sql: 'select 1' }, { content: [{ type: 'text', text: 'one row' }] });
    expect(html).toContain('db · query');
    expect(html).toContain('select 1');
    expect(html).toContain('one row');
  });

  it('previews a tool input without result or status', () => {
    const html = renderToStaticMarkup(<ToolInputPreview name="Bash" input={{ command: 'make' }} />);
    expect(html).toContain('make');
    expect(html).not.toContain('exit');
    expect(html).not.toContain('running');
  });

  it('flattens results and finds exit codes', () => {
    expect(resultText([{ type: 'text', text: 'a' }, { type: 'image' }])).toBe('a\n{"type":"image"}');
    expect(resultText(null)).toBe('');
    expect(exitCode({ content: 'Exit code 3\nfail', isError: true, seq: 1 })).toBe(3);
    expect(exitCode(undefined)).toBeNull();
  });
});

describe('diff', () => {
  it('diffs lines and compacts unchanged runs', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l10', 'L10');
    const lines = diffLines(before, after);
    expect(lines.filter(l => l.op === '-')).toEqual([{ op: '-', text: 'l10' }]);
    expect(lines.filter(l => l.op === '+')).toEqual([{ op: '+', text: 'L10' }]);
    const compact = compactDiff(lines, 2);
    expect(compact[0]).toEqual({ op: '…', text: '8 unchanged lines' });
    expect(compact).toHaveLength(1 + 2 + 2 + 2 + 1);
  });

  it('falls back for huge inputs', () => {
    const big = Array.from({ length: 30 }, (_, i) => `x${i}`).join('\n');
    const lines = diffLines(big, big + '\ny', 5);
    expect(lines.filter(l => l.op === '-')).toHaveLength(30);
  });
});
