// A person signing in to a dashboard through keystone-rs's WebSSO, in a real browser
// (Debian's chromium, driven by playwright-core): the test in tests/api/federation_websso.rs
// runs it.
//
//   node websso_browser.mjs WEBSSO_URL DASHBOARD_PORT USERNAME PASSWORD allow|deny|intercept
//
// It serves a stand-in dashboard on 127.0.0.1:DASHBOARD_PORT that records the `token`
// keystone-rs's callback page posts to it, opens WEBSSO_URL (whose origin is that dashboard),
// fills the provider's login form, answers its consent page, and waits to land back on the
// dashboard (or, denied, for keystone-rs's answer; or, intercept, stops the browser on its
// way back so the callback's code is still unspent). Prints one JSON line: the token, the
// callback URL the provider sent the browser to and the cookies it carried there, and
// where the browser ended.
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

const [webssoUrl, dashboardPort, username, password, decision] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

let gotToken;
const tokenPosted = new Promise((resolve) => { gotToken = resolve; });
const dashboard = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  if (req.method === 'POST') gotToken(new URLSearchParams(body).get('token'));
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end('<!DOCTYPE html><title>Dashboard</title><p id="welcome">Welcome back</p>');
});
await new Promise((resolve) => dashboard.listen(Number(dashboardPort), '127.0.0.1', resolve));

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // CI runs as root, where chromium's sandbox cannot start.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const result = {};
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const websso = new URL(webssoUrl);
  page.on('request', async (request) => {
    const url = new URL(request.url());
    if (url.origin === websso.origin && url.pathname === websso.pathname
        && (url.searchParams.has('code') || url.searchParams.has('error'))) {
      result.callback = request.url();
      result.cookie = (await request.allHeaders()).cookie || '';
    }
  });
  let intercepted;
  const callbackSeen = new Promise((resolve) => { intercepted = resolve; });
  if (decision === 'intercept') {
    // Redirects are not routed, so the consent's answer is: its redirects are followed
    // here, with the browser's cookies, up to the one back to keystone-rs, which is kept.
    await page.route((url) => url.pathname.startsWith('/interaction/'), async (route) => {
      const request = route.request();
      if (request.method() !== 'POST' || !(request.postData() || '').includes('decision=allow')) {
        return route.continue();
      }
      let response = await route.fetch({ maxRedirects: 0 });
      let at = request.url();
      for (let hop = 0; hop < 5 && response.headers().location; hop += 1) {
        const next = new URL(response.headers().location, at);
        if (next.origin === websso.origin && next.pathname === websso.pathname) {
          result.callback = next.href;
          break;
        }
        at = next.href;
        response = await context.request.get(at, { maxRedirects: 0 });
      }
      const cookies = await context.cookies(websso.href);
      result.cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="stopped">stopped</p>' });
      intercepted();
    });
  }
  await page.goto(webssoUrl);
  await page.waitForSelector('#username', { timeout: 20000 });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForLoadState('load'), page.click('#sign-in')]);
  await page.waitForSelector(decision === 'deny' ? '#deny' : '#allow', { timeout: 20000 });
  if (decision === 'intercept') {
    await page.click('#allow');
    await Promise.race([
      callbackSeen,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the provider did not send the browser back')), 30000)),
    ]);
  } else if (decision === 'allow') {
    await page.click('#allow');
    result.token = await Promise.race([
      tokenPosted,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no token reached the dashboard')), 30000)),
    ]);
    await page.waitForSelector('#welcome', { timeout: 20000 });
  } else {
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === websso.pathname
        && new URL(r.url()).searchParams.has('error'), { timeout: 20000 }),
      page.click('#deny'),
    ]);
    result.status = response.status();
    result.body = await response.text();
  }
  result.landed = page.url();
} finally {
  await browser.close();
  dashboard.close();
}
console.log(JSON.stringify(result));
