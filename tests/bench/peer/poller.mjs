// What a hand-written poller of CloudStack/CLM jobs would import from the peer packages: the
// long-running-operation poller and an XML parser (CloudStack's `response=xml`).
export { createHttpPoller } from '@azure/core-lro';
export { XMLParser } from 'fast-xml-parser';
