import { json, startHttpServer } from '@dmp-bot/sim/http-server';
import { describe, expect, it } from 'vitest';

const echo = () =>
  startHttpServer((req, res, body) =>
    json(res, 200, { method: req.method, url: req.url, body: body.toString('utf8') }),
  );

describe('fake http server', () => {
  it('hands the whole body to the handler and answers JSON', async () => {
    const server = await echo();
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const res = await fetch(`${server.url}/x?y=1`, { method: 'POST', body: 'a'.repeat(200_000) });
      const body = (await res.json()) as { url: string; body: string };
      expect(body.url).toBe('/x?y=1');
      expect(body.body).toHaveLength(200_000);
    } finally {
      await server.close();
    }
  });

  it('answers 500 JSON under the error fault and non-JSON bytes under the garbage fault', async () => {
    const server = await echo();
    try {
      server.setFault('error');
      expect((await fetch(server.url)).status).toBe(500);
      server.setFault('garbage');
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      await expect(res.json()).rejects.toThrow();
      server.setFault('none');
      expect((await fetch(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('applies a fault to a limited number of requests', async () => {
    const server = await echo();
    try {
      server.setFault('error', { times: 2 });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(server.url)).status);
      expect(statuses).toEqual([500, 500, 200]);
      expect(server.fault).toBe('none');
    } finally {
      await server.close();
    }
  });

  it('delays answers under the slow fault', async () => {
    const server = await echo();
    try {
      server.setFault('slow', { delayMs: 300 });
      const started = Date.now();
      expect((await fetch(server.url)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    } finally {
      await server.close();
    }
  });

  it('hangs without answering, so only a client timeout ends the wait, and close() still returns', async () => {
    const server = await echo();
    server.fault = 'hang';
    await expect(fetch(server.url, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    const pending = fetch(server.url).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('refuses connections while down and answers again on the same port when up', async () => {
    const server = await echo();
    try {
      expect((await fetch(server.url)).status).toBe(200);
      await server.down();
      expect(server.isUp).toBe(false);
      await expect(fetch(server.url)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      await server.up();
      expect((await fetch(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('turns a throwing handler into a 500 instead of a hung client', async () => {
    const server = await startHttpServer(() => {
      throw new Error('bug in fake');
    });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ message: 'bug in fake' });
    } finally {
      await server.close();
    }
  });
});
