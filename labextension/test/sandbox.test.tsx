/**
 * Sandboxes in the panel: the badge of a session in a container, the profile form's request body,
 * and the shell command a terminal runs for a sandbox.
 */
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { SandboxBadge, sandboxOf } from '../src/components/SandboxBadge';
import { bodyOf, draftOf } from '../src/components/SandboxProfiles';
import { shellCommand } from '../src/model/values';

describe('sandboxes', () => {
  it('shows a badge only for sessions outside the local sandbox', () => {
    expect(renderToStaticMarkup(<SandboxBadge session={{ sandbox: { provider: 'local' } }} />)).toBe('');
    expect(renderToStaticMarkup(<SandboxBadge session={{ sandbox: 'local' }} />)).toBe('');
    const html = renderToStaticMarkup(
      <SandboxBadge
        session={{ sandbox: { provider: 'docker', profile: 'py', container_name: 'companion-abc', image: 'python:3', ports: { '8000': 32768 } } }}
      />
    );
    expect(html).toContain('>docker<');
    expect(html).toContain('container companion-abc');
    expect(html).toContain('port 8000 → 127.0.0.1:32768');
    expect(sandboxOf({})).toEqual({ provider: 'local' });
  });

  it('turns the form into a profile and back', () => {
    const stored = { name: 'py', provider: 'docker', image: 'python:3', network: 'host', cpus: 2, memory: '2g', ports: [8000, 3000],
                     env: { TOKEN: '••••1234' }, init_script: 'pip install -e .' };
    const draft = draftOf(stored);
    expect(draft.ports).toBe('8000, 3000');
    expect(draft.env).toBe('TOKEN=••••1234');
    expect(bodyOf(draft)).toEqual({ provider: 'docker', network: 'host', image: 'python:3', init_script: 'pip install -e .',
                                     cpus: 2, memory: '2g', ports: [8000, 3000], env: { TOKEN: '••••1234' } });
    const built = bodyOf({ ...draft, source: 'dockerfile', dockerfile: 'FROM x', cpus: 'many', ports: '' });
    expect(built.dockerfile).toBe('FROM x');
    expect(built.image).toBeUndefined();
    expect(built.cpus).toBe('many'); // sent as typed: the server names the problem
    expect(built.ports).toBeUndefined();
  });

  it('quotes a shell argv for a terminal', () => {
    expect(shellCommand(['docker', 'exec', '-it', "it's", 'sh'])).toBe(`'docker' 'exec' '-it' 'it'\\''s' 'sh'`);
  });
});
