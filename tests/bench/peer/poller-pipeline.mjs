// The same poller with the HTTP pipeline it is meant to run on (retries, throttling, headers).
export { createHttpPoller } from '@azure/core-lro';
export { XMLParser } from 'fast-xml-parser';
export {
  createPipelineFromOptions,
  createPipelineRequest,
  createHttpHeaders,
  createDefaultHttpClient,
} from '@azure/core-rest-pipeline';
