/**
 * Preloaded (`node --require`) into `node-red-dev validate` by scripts/scorecard.ts. The scorecard
 * reads the Flow Library catalogue (catalogue.nodered.org) for checks P08 and N01; machines that
 * build this package reach only the npm registry, so the catalogue request is answered here with an
 * empty catalogue (no similarly named package, no duplicate node type). Every other request
 * (the npm registry, for P06, P07, D02 and D03) goes out unchanged.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

interface AxiosLikeConfig {
  url?: string;
  adapter?: (config: AxiosLikeConfig) => Promise<unknown>;
}
interface AxiosLike {
  interceptors: { request: { use(onRequest: (config: AxiosLikeConfig) => AxiosLikeConfig): number } };
}

const CATALOGUE_URL = /^https:\/\/catalogue\.nodered\.org\//;

// node-red-dev bundles its own axios (0.21); intercept that copy, the one its checks call.
const devToolDir = path.dirname(require.resolve('node-red-dev/package.json', { paths: [process.cwd(), __dirname] }));
const requireFromDevTool = createRequire(path.join(devToolDir, 'src', 'index.js'));
const devToolAxios = requireFromDevTool('axios') as AxiosLike;

devToolAxios.interceptors.request.use((config) => {
  if (config.url && CATALOGUE_URL.test(config.url)) {
    config.adapter = async (request) => ({ data: { modules: [] }, status: 200, statusText: 'OK', headers: {}, config: request, request: {} });
  }
  return config;
});
