// The Kubernetes fake with a kubeconfig written to a temporary directory, as KUBECONFIG points to it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, startKubeFake } from '@dmp-bot/sim/k8s-fake';

export interface TestKube {
  fake: KubeFake;
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startTestKube(opts: { namespace?: string } = {}): Promise<TestKube> {
  const fake = await startKubeFake({ namespace: opts.namespace ?? 'dmp' });
  const dir = mkdtempSync(join(tmpdir(), 'dmp-kube-'));
  const kubeconfig = fake.writeKubeconfig(dir);
  return {
    fake,
    kubeconfig,
    async close() {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
