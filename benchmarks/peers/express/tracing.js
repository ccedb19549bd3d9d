// OpenTelemetry as the seed set it up: the Node SDK with HTTP and Express
// instrumentation and an OTLP/HTTP exporter. Loaded with `node --require`
// so the instrumentation patches http and express before they are imported.
// The sampler and endpoint come from the standard OTEL_* variables, exactly
// as for the Python service, so both export the same share of spans.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME || 'hello-api-express',
  traceExporter: new OTLPTraceExporter(),
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
});
sdk.start();

process.on('SIGTERM', () => {
  sdk.shutdown().finally(() => process.exit(0));
});
