// Opens the API reference in Debian's Chromium, driven by Playwright (playwright-core: no browser download), and
// prints what the page shows: every operation id it rendered, its headings, and any error the page met.
// Usage: node reference.mjs <url> [chromium path]
import { chromium } from 'playwright-core';

const [url, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
const requests = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') problems.push('console: ' + message.text()); });
  page.on('pageerror', (error) => problems.push('page: ' + error.message));
  page.on('request', (request) => requests.push(request.url()));
  const response = await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-rendered]', { timeout: 20000 });
  const operations = await page.$$eval('[data-operation-id]', (nodes) => nodes.map((n) => ({
    id: n.getAttribute('data-operation-id'),
    signature: n.querySelector('.signature')?.textContent ?? '',
    visible: n.getBoundingClientRect().height > 0,
  })));
  const links = await page.$$eval('nav a', (nodes) => nodes.map((n) => n.getAttribute('href')));
  console.log(JSON.stringify({ status: response.status(), title: await page.title(), operations, links, requests, problems }));
} finally {
  await browser.close();
}
