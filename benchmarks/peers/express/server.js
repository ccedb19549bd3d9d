// The seed's Express 5 hello API with its middleware stack: helmet, cors,
// compression, pino-http request logs, prom-client metrics and (in
// tracing.js) OpenTelemetry. Only what the benchmark touches is here.
const express = require('express');
const helmet = require('helmet');
const cors = require('cors');
const compression = require('compression');
const pinoHttp = require('pino-http');
const client = require('prom-client');

const port = Number(process.env.PORT || 8000);
const allowedOrigins = (process.env.ALLOWED_ORIGINS || '')
  .split(',')
  .map((origin) => origin.trim())
  .filter(Boolean);

client.collectDefaultMetrics();
const requestDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency',
  labelNames: ['method', 'route', 'status_code'],
});

const app = express();
app.disable('x-powered-by');
app.use(helmet());
app.use(cors({ origin: allowedOrigins }));
app.use(compression());
app.use(pinoHttp({ level: process.env.LOG_LEVEL || 'info' }));
app.use((req, res, next) => {
  const end = requestDuration.startTimer();
  res.on('finish', () => {
    const route = req.route ? req.baseUrl + req.route.path : 'unmatched';
    end({ method: req.method, route, status_code: res.statusCode });
  });
  next();
});
app.use(express.json({ limit: '16kb' }));

const NAME = /^[\p{L}\p{N} '-]{1,64}$/u;

app.get('/health/live', (req, res) => res.json({ status: 'ok' }));
app.get('/health/ready', (req, res) => res.json({ status: 'ok' }));
app.get('/api/v1/greeting', (req, res) => {
  const name = req.query.name === undefined ? 'World' : String(req.query.name);
  if (!NAME.test(name)) {
    res.status(400).type('application/problem+json');
    res.send(JSON.stringify({ title: 'Bad Request', status: 400, detail: 'invalid name' }));
    return;
  }
  res.json({ message: `Hello, ${name}!` });
});
app.get('/metrics', async (req, res) => {
  res.type(client.register.contentType);
  res.send(await client.register.metrics());
});

app.listen(port, '0.0.0.0', () => {
  process.stderr.write(`express peer listening on ${port}\n`);
});
