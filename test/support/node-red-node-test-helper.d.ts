declare module 'node-red-node-test-helper' {
  import type { Test } from 'supertest';
  import type TestAgent from 'supertest/lib/agent';

  type NodeInit = (RED: any) => void | Promise<void>;

  interface TestHelper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    load(nodes: NodeInit | NodeInit[], flow: object[], credentials?: Record<string, object>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): any;
    startServer(done?: (error?: Error) => void): Promise<void>;
    stopServer(done?: (error?: Error) => void): Promise<void>;
    request(): TestAgent<Test>;
    url(): string;
    settings(userSettings: Record<string, unknown>): void;
    log(): any;
  }

  const helper: TestHelper;
  export = helper;
}
