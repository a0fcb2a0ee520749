// @vitest-environment jsdom
/**
 * Agents in the panel: the form's request body and back, the manager showing a new agent's webhook
 * secret once and running an agent with an input, the runs table, and the composer's `@` menu of
 * saved prompts.
 */
import * as React from 'react';
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { mount, settle, useDomHarness } from './domHarness';
import { Agents, EMPTY_AGENT, agentBodyOf, agentDraftOf } from '../src/components/Agents';
import { Composer, matchPrompts } from '../src/components/Composer';
import { Runs, runDuration } from '../src/components/Runs';
import { AgentInfo, RunInfo } from '../src/model/types';

useDomHarness();

function setValue(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

const STORED: AgentInfo = {
  id: 'a1b2c3d4e5f6', name: 'Triage', prompt: 'Triage {{input}}', backend: 'claude', permission_mode: 'default',
  cwd: 'project', enabled: true, overlap: 'skip', allowed_tools: ['Bash(gh issue list:*)'],
  triggers: { schedule: { cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', missed: 'run_once' }, webhook: { enabled: true } },
  schedule_text: 'At 07:00, Monday through Friday', next_run_at: '2026-12-03T06:00:00.000Z',
  next_runs: ['2026-12-03T06:00:00.000Z']
};

describe('agents', () => {
  it('turns the form into a request body and a stored agent back into the form', () => {
    const draft = agentDraftOf(STORED);
    expect(draft.cron).toBe('0 7 * * 1-5');
    expect(draft.allowed_tools).toBe('Bash(gh issue list:*)');
    const body = agentBodyOf(draft);
    expect(body.triggers).toEqual({ webhook: { enabled: true }, schedule: { cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', missed: 'run_once' } });
    expect(body.allowed_tools).toEqual(['Bash(gh issue list:*)']);
    expect(agentBodyOf({ ...EMPTY_AGENT, name: ' x ', prompt: 'p' })).toMatchObject({ name: 'x', model: null, triggers: { webhook: { enabled: false } } });
    expect(agentBodyOf({ ...EMPTY_AGENT, name: 'x', prompt: 'p' }).triggers?.schedule).toBeUndefined();
  });

  it('shows a new agent’s webhook secret once, and runs an agent with an input', async () => {
    const saved: Array<Partial<AgentInfo>> = [];
    const runs: string[] = [];
    const shownRuns: Array<string | undefined> = [];
    const el = mount(
      <Agents
        load={async () => ({ agents: [STORED], backends: ['claude', 'codex'] })}
        save={async body => {
          saved.push(body);
          return { ...STORED, id: 'ffffffffffff', name: String(body.name), webhook_secret: 's3cret', webhook_url: 'http://h/companion/hooks/agents/ffffffffffff' };
        }}
        remove={async () => undefined}
        run={async (id, input) => {
          runs.push(`${id}:${input}`);
          return { id: 'r'.repeat(32), agent_id: id, trigger: 'manual', status: 'running', started_at: '2026-12-02T10:00:00Z' };
        }}
        regenerate={async () => ({ webhook_secret: 'n', webhook_url: 'u' })}
        showRuns={id => shownRuns.push(id)}
      />
    );
    await settle();
    expect(el.textContent).toContain('Triage');
    expect(el.textContent).toContain('At 07:00, Monday through Friday');
    const form = el.querySelector('form[aria-label="Agent"]') as HTMLFormElement;
    act(() => setValue(form.querySelector('input[aria-label="Name"]') as HTMLInputElement, 'Nightly'));
    act(() => setValue(form.querySelector('textarea[aria-label="Prompt"]') as HTMLTextAreaElement, 'Summarize {{input}}'));
    await act(async () => {
      form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await settle();
    expect(saved[0]).toMatchObject({ name: 'Nightly', prompt: 'Summarize {{input}}' });
    expect(el.querySelector('[aria-label="Webhook secret"]')?.textContent).toContain('s3cret');
    act(() => setValue(el.querySelector('input[aria-label="Run input"]') as HTMLInputElement, 'yesterday'));
    const runButton = Array.from(el.querySelectorAll('button')).find(b => b.textContent === 'Run now') as HTMLButtonElement;
    await act(async () => {
      runButton.click();
    });
    await settle();
    expect(runs).toEqual(['ffffffffffff:yesterday']);
    expect(shownRuns).toEqual(['ffffffffffff']);
    expect(el.textContent).toContain('Run rrrrrrrr: running.');
  });

  it('lists runs with their status, duration, error and a way into their session', async () => {
    const opened: string[] = [];
    const run: RunInfo = { id: '0123456789abcdef0123456789abcdef', agent_id: 'a1b2c3d4e5f6', agent_name: 'Triage', trigger: 'schedule',
                           status: 'error', session_id: 'sess1', started_at: '2026-12-02T10:00:00Z', ended_at: '2026-12-02T10:01:05Z',
                           error: 'the turn ended in an error', cost_usd: 0.0123 };
    const el = mount(
      <Runs load={async () => ({ runs: [run, { ...run, id: 'f'.repeat(32), status: 'awaiting_permission', ended_at: null, error: null }], total: 2 })}
        agents={async () => [STORED]} openSession={id => opened.push(id)} refreshMs={0} />
    );
    await settle();
    const text = el.textContent ?? '';
    expect(text).toContain('the turn ended in an error');
    expect(text).toContain('waiting for a permission');
    expect(text).toContain('1 min 5 s');
    expect(text).toContain('$0.0123');
    (el.querySelector('button[aria-label="Open the session of run 01234567"]') as HTMLButtonElement).click();
    expect(opened).toEqual(['sess1']);
    expect(runDuration({ ...run, ended_at: null }, Date.parse('2026-12-02T10:00:30Z'))).toBe('30 s');
  });
});

describe('saved prompts in the composer', () => {
  it('matches the @word the text ends with', () => {
    const prompts = [{ name: 'Review', text: 'Review the diff.' }, { name: 'Tests', text: 'Write tests.' }];
    expect(matchPrompts('Please @rev', prompts)).toEqual({ at: 7, found: [prompts[0]] });
    expect(matchPrompts('@', prompts).found).toHaveLength(2);
    expect(matchPrompts('mail me@home', prompts).found).toEqual([]);
  });

  it('offers saved prompts after @ and inserts the chosen one', async () => {
    let asked = 0;
    const sent: string[] = [];
    const el = mount(
      <Composer busy={false} commands={[]} models={[]} onSend={t => sent.push(t)} onInterrupt={() => undefined}
        onModel={() => undefined} onMode={() => undefined}
        loadPrompts={async () => { asked += 1; return [{ name: 'Review', text: 'Review the diff for bugs.' }]; }} />
    );
    const area = el.querySelector('textarea') as HTMLTextAreaElement;
    act(() => setValue(area, 'First: @Rev'));
    await settle();
    expect(asked).toBe(1);
    const menu = el.querySelector('[aria-label="Saved prompts"]');
    expect(menu?.textContent).toContain('@Review');
    act(() => {
      area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    });
    expect(area.value).toBe('First: Review the diff for bugs.');
    expect(sent).toEqual([]);
    expect(el.querySelector('[aria-label="Saved prompts"]')).toBeNull();
  });
});
