import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/http/server';
import { seedDemo } from '../../src/importers/demo';
import { browserAvailable, ensureUiBuilt, launchChromium } from '../helpers/browser';
import { createTestApp, dbKind, expectData, type TestApp } from '../helpers/test-app';

const SAMPLES = path.resolve(__dirname, '..', '..', 'models', 'samples');
/** Screenshots of every page at both sizes, from this run: look at them (and copy a few to the README's). */
const SHOTS = process.env.MODELGATE_SCREENSHOTS ?? path.join(os.tmpdir(), 'modelgate-screenshots');
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

const run = browserAvailable() ? describe : describe.skip;

/** Waits until every image the selector finds has loaded, decoded at the expected width (the page's CSP forbids eval). */
const imagesLoaded = (p: Page, selector: string, width: number) =>
  p.waitForFunction(
    ([sel, w]) =>
      [...(globalThis as any).document.querySelectorAll(sel)].every((i: any) => i.complete && i.naturalWidth === w),
    [selector, width] as const,
  );

/** The admin UI in Debian's headless Chromium against a real gateway (demo seed, temporary data directory). */
run(`the admin web UI in headless Chromium (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let admin: BrowserContext;
  let page: Page;
  let comparisonId: string;

  const signIn = async (p: Page, key: string) => {
    await p.goto(`${base}/login`);
    await p.getByLabel('API key').fill(key);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
  };

  /** No serious or critical axe-core violation, and a screenshot at 1280x800 and 390x844. */
  const check = async (p: Page, name: string) => {
    const { violations } = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21aa']).analyze();
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    ).toEqual([]);
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      await p.setViewportSize(viewport);
      await p.screenshot({ path: path.join(SHOTS, `${name}-${size}.png`), fullPage: true });
    }
    await p.setViewportSize(VIEWPORTS.desktop);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ensureUiBuilt();
    t = await createTestApp();
    await seedDemo(t.app);
    t.app.startWorkers();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    base = server.url;
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: VIEWPORTS.desktop });
    page = await admin.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await t?.close();
  });

  it('keeps the initial JavaScript of the app under 300 KB gzip', async () => {
    const p = await admin.newPage();
    const scripts: Buffer[] = [];
    p.on('response', async (r) => {
      if (r.url().endsWith('.js')) scripts.push(await r.body());
    });
    await p.goto(`${base}/login`);
    await p.getByLabel('API key').waitFor();
    const kb = scripts.reduce((s, b) => s + gzipSync(b).length, 0) / 1024;
    console.log(`initial JS of /login: ${scripts.length} files, ${kb.toFixed(1)} KB gzip`);
    expect(kb).toBeLessThan(300);
    await p.close();
  });

  it('refuses a wrong key in words, signs in with a key that never reaches the page, and signs out', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('API key').fill('mg_not-a-real-key-at-all-0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/not signed in.*UNAUTHENTICATED/s);
    await check(page, 'login');

    await page.getByLabel('API key').fill(t.keys.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
    // The session cookie is HttpOnly: page JavaScript sees neither it nor the key.
    const visible = (await page.evaluate(
      '[document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage), location.href]',
    )) as string[];
    for (const v of visible) expect(v).not.toContain(t.keys.admin);
    expect(visible[0]).toBe('');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect((await page.request.get(`${base}/auth/session`)).status()).toBe(401);
    await signIn(page, t.keys.admin);
  });

  it('lists and filters models, then shows a version with its DVC and MLflow provenance', async () => {
    await page.goto(`${base}/models?alias=champion`);
    await page.getByRole('link', { name: 'fashion-classifier' }).waitFor();
    await check(page, 'models');
    await page.getByLabel('Search by name').fill('no-such-model');
    await page.getByText('No model matches these filters.').waitFor();
    expect(page.url()).toContain('q=no-such-model');

    await page.goto(`${base}/models/fashion-classifier`);
    await page.getByRole('link', { name: 'v3', exact: true }).waitFor();
    const rows = page.getByRole('table').first().getByRole('row');
    await expect(rows.count()).resolves.toBe(4);
    await expect(rows.nth(2).textContent()).resolves.toContain('onnx/fashion-small-cnn.onnx');
    await check(page, 'model');

    await page.getByRole('link', { name: 'v2', exact: true }).click();
    await page.getByRole('heading', { name: 'fashion-classifier v2' }).waitFor();
    const dvc = page.getByRole('region', { name: 'DVC provenance' });
    await expect(dvc.textContent()).resolves.toContain('onnx/fashion-small-cnn.onnx');
    const mlflow = page.getByRole('region', { name: 'MLflow run' });
    await expect(mlflow.textContent()).resolves.toContain('champion-small-cnn');
    // Each metric logged at several steps is drawn as a line chart.
    await page.locator('figure[data-chart^="history-"] svg').first().waitFor();
    expect(await page.locator('figure[data-chart^="history-"]').count()).toBeGreaterThan(1);
    await check(page, 'version');
  });

  it('moves an alias after a confirmation that names the change, shows it in the history, and rolls it back', async () => {
    await page.goto(`${base}/models/fashion-classifier`);
    await page.getByLabel('Move champion to').selectOption('3');
    await page.getByRole('button', { name: 'Move champion', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.textContent()).resolves.toContain('from v2 to v3');
    await dialog.getByRole('button', { name: 'Move champion' }).click();
    await page.getByText('champion → v3').waitFor();
    const history = page.getByRole('list', { name: 'Alias moves, newest first' });
    await expect(history.getByRole('listitem').first().textContent()).resolves.toMatch(/champion\s*v2 → v3/);

    await page.getByRole('button', { name: 'Roll back champion to v2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('champion → v2').waitFor();
    const { model } = expectData(
      await t.gql(
        `{ model(name: "fashion-classifier") { aliasHistory(alias: "champion") { fromVersion toVersion } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(model.aliasHistory.slice(-2)).toEqual([
      { fromVersion: 2, toVersion: 3 },
      { fromVersion: 3, toVersion: 2 },
    ]);
  });

  it('predicts uploaded images with two versions side by side, as the API does', async () => {
    await page.goto(`${base}/predict?model=fashion-classifier&a=champion&b=baseline`);
    await page.getByLabel(/Images/).setInputFiles([path.join(SAMPLES, 'bag.png'), path.join(SAMPLES, 'sneaker.png')]);
    await page.getByRole('button', { name: 'Predict' }).click();
    const results = page.getByRole('list', { name: 'Predictions' });
    await results.waitFor();
    const bag = results.getByRole('region', { name: 'bag.png: v2' });
    await expect(bag.textContent()).resolves.toMatch(/via alias:champion on cpu/);
    await expect(results.getByRole('region', { name: 'bag.png: v1' }).textContent()).resolves.toMatch(/alias:baseline/);
    const firstLabel = await bag.locator('.bar-label').first().textContent();
    const { readFileSync } = await import('node:fs');
    const { predict } = expectData(
      await t.gql(
        `query($b: String!) { predict(ref: { model: "fashion-classifier", alias: "champion" }, image: { base64: $b }) { top { label } } }`,
        { b: readFileSync(path.join(SAMPLES, 'bag.png')).toString('base64') },
        t.keys.viewer,
      ),
    );
    expect(firstLabel).toBe(predict.top[0].label);
    await expect(bag.textContent()).resolves.toMatch(/inference [\d.]+ ms/);
    await check(page, 'predict');
  });

  it('starts a comparison from the form, follows its progress to the end, and draws the API’s numbers', async () => {
    await page.goto(`${base}/comparisons?model=fashion-classifier&candidate=3&dataset=fashion-eval`);
    await page.getByLabel('Limit (items)').fill('200');
    const events = page.waitForResponse((r) => /\/comparisons\/\d+\/events$/.test(r.url()));
    await page.getByRole('button', { name: 'Start comparison' }).click();
    await page.waitForURL(/\/comparisons\/\d+$/);
    comparisonId = page.url().split('/').pop()!;
    // The progress arrives over the browser's own EventSource (the session cookie authenticates it).
    // A second native EventSource in the page, read to its end (Chromium may drop a closed stream's
    // body, so the page's own one is checked by status only), climbs to 100% and ends with `done`.
    const sent: any[] = await page.evaluate(
      (id) =>
        new Promise((resolve, reject) => {
          const got: any[] = [];
          const source = new (globalThis as any).EventSource(`/comparisons/${id}/events`);
          const read = (event: string) => (e: any) => got.push({ event, ...JSON.parse(e.data) });
          source.addEventListener('progress', read('progress'));
          source.addEventListener('done', (e: any) => {
            read('done')(e);
            source.close();
            resolve(got);
          });
          source.addEventListener('error', () => {
            source.close();
            reject(new Error(`the progress stream failed after ${got.length} events`));
          });
        }),
      comparisonId,
    );
    expect((await events).status()).toBe(200);
    const progress = sent.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(sent.at(-1)).toMatchObject({ event: 'done', status: 'SUCCEEDED', progress: 1 });
    await page
      .getByRole('heading', { name: 'Candidate better' })
      .or(page.getByRole('heading', { name: 'No significant difference' }))
      .waitFor({ timeout: 180_000 });

    const { comparison } = expectData(
      await t.gql(
        `query($id: ID!) { comparison(id: $id) { status progress summary
            baselineMetrics { confusionMatrix } candidateMetrics { confusionMatrix } disagreements(first: 48) { ordinal } } }`,
        { id: comparisonId },
        t.keys.viewer,
      ),
    );
    expect([comparison.status, comparison.progress]).toEqual(['SUCCEEDED', 1]);
    await expect(page.locator('.verdict p').first().textContent()).resolves.toBe(comparison.summary);
    const cells = async (chart: string) =>
      (await page.locator(`figure[data-chart="${chart}"] g.cell-value text`).allTextContents()).map(Number);
    const flat = (m: number[][]) => m.flat();
    expect(await cells('confusion-candidate')).toEqual(flat(comparison.candidateMetrics.confusionMatrix));
    expect(await cells('confusion-baseline')).toEqual(flat(comparison.baselineMetrics.confusionMatrix));
    const diff = flat(comparison.candidateMetrics.confusionMatrix).map(
      (v: number, i: number) => v - flat(comparison.baselineMetrics.confusionMatrix)[i],
    );
    expect(await cells('confusion-difference')).toEqual(diff);
    for (const chart of ['forest', 'reliability', 'per-class-f1'])
      await page.locator(`figure[data-chart="${chart}"] svg`).first().waitFor();

    // The disagreement gallery shows the real dataset images, one per disagreement the API lists.
    const images = page.getByRole('list', { name: 'Disagreement images' }).getByRole('img');
    await expect(images.count()).resolves.toBe(comparison.disagreements.length);
    await imagesLoaded(page, 'ul[aria-label="Disagreement images"] img', 96);
    await check(page, 'comparison');

    await page.goto(`${base}/comparisons`);
    await page.getByRole('link', { name: `#${comparisonId}` }).waitFor();
    await check(page, 'comparisons');
  }, 240_000);

  it('promotes the candidate after confirmation (admin)', async () => {
    await page.goto(`${base}/comparisons/${comparisonId}`);
    await page.getByRole('button', { name: 'Promote candidate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Make v3 champion' }).click();
    await page.getByText('v3 is the champion').waitFor();
    const { modelVersion } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "fashion-classifier", alias: "champion" }) { version } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion.version).toBe(3);
  });

  it('starts a SPLIT experiment from the form, follows its routed traffic and feedback live, and stops it', async () => {
    await page.goto(`${base}/experiments?model=fashion-classifier&candidate=3`);
    await page.getByText(/Control: the model’s “baseline” alias, v1/).waitFor();
    await page.getByLabel('Experiment name').fill('bn-cnn vs baseline');
    await expect(page.getByLabel('Candidate 1 version').inputValue()).resolves.toBe('3');
    await page.getByRole('button', { name: 'Start experiment' }).click();
    await page.waitForURL(/\/experiments\/\d+$/);
    const experimentId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'No decision yet' }).waitFor();

    // Real traffic: unversioned predictions of fashion-eval images, routed to the arms, then their
    // true labels as feedback, in rounds (each round is one look of the test: one point per arm).
    const dataset = (await t.app.services.datasets.latest('fashion-eval'))!;
    const items = await t.app.services.datasets.itemsOf(dataset.id, 0, 480);
    const actor = t.app.localActor();
    for (let round = 0; round < 15; round++) {
      const batch = items.slice(round * 32, round * 32 + 32);
      const images = await Promise.all(
        batch.map(async (item) => {
          const { file } = await t.app.services.datasets.itemImage(
            actor,
            'fashion-eval',
            item.ordinal,
            dataset.version,
          );
          return { base64: readFileSync(file).toString('base64') };
        }),
      );
      const { predictBatch } = expectData(
        await t.gql(
          `query($images: [ImageInput!]!) { predictBatch(ref: { model: "fashion-classifier" }, images: $images, topK: 1) { id resolvedBy } }`,
          { images },
          t.keys.operator,
        ),
      );
      for (const p of predictBatch)
        expect(p.resolvedBy).toMatch(new RegExp(`^experiment:${experimentId}/(control|v3)$`));
      expectData(
        await t.gql(
          `mutation($items: [FeedbackInput!]!) { recordFeedbackBatch(feedback: $items) { created } }`,
          {
            items: predictBatch.map((p: any, i: number) => ({
              predictionId: p.id,
              label: dataset.labels[batch[i]!.labelIndex],
            })),
          },
          t.keys.operator,
        ),
      );
      await t.app.services.experiments.settle();
    }

    const { experiment } = expectData(
      await t.gql(
        `query($id: ID!) { experiment(id: $id) { status decision arms { name requests feedbackCount accuracy
            test { pValue estimate confidenceSequence decision } } series { arm } } }`,
        { id: experimentId },
        t.keys.viewer,
      ),
    );
    expect(experiment.arms.map((a: any) => a.name)).toEqual(['control', 'v3']);
    expect(experiment.arms.reduce((s: number, a: any) => s + a.feedbackCount, 0)).toBe(480);
    expect(experiment.series.length).toBeGreaterThanOrEqual(2 * 10);
    // The page polls while the experiment runs: the arms table catches up with the API's figures.
    const row = (name: string) =>
      page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    const expected = (f: (a: any) => string) => experiment.arms.map(f);
    const cellsOf = async (name: string) => (await row(name).getByRole('cell').allTextContents()).map((s) => s.trim());
    for (let tries = 0; ; tries++) {
      if ((await cellsOf('Judged answers (feedback)')).join() === expected((a) => String(a.feedbackCount)).join())
        break;
      if (tries > 40) throw new Error(`the arms table did not catch up: ${await cellsOf('Judged answers (feedback)')}`);
      await page.waitForTimeout(250);
    }
    expect(await cellsOf('Requests')).toEqual(expected((a) => String(a.requests)));
    expect(await cellsOf('Accuracy')).toEqual(expected((a) => `${(a.accuracy * 100).toFixed(1)}%`));
    const v3 = experiment.arms[1];
    expect((await cellsOf('Accuracy − control'))[1]).toBe(
      `${v3.test.estimate >= 0 ? '+' : '−'}${Math.abs(v3.test.estimate * 100).toFixed(1)} pts`,
    );
    for (const chart of ['experiment-p-value', 'experiment-confidence-sequence', 'experiment-accuracy'])
      await page.locator(`figure[data-chart="${chart}"] svg`).first().waitFor();
    // The p-value chart has a log y-axis and the alpha line; every chart draws one line per arm it covers.
    expect(await page.locator('figure[data-chart="experiment-p-value"] svg path').count()).toBeGreaterThan(0);
    await expect(page.locator('figure[data-chart="experiment-p-value"]').textContent()).resolves.toContain(
      'alpha = 0.05',
    );
    await check(page, 'experiment');

    await page.goto(`${base}/experiments`);
    const listed = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'bn-cnn vs baseline' }) });
    await expect(listed.textContent()).resolves.toMatch(/fashion-classifier.*split.*running/s);
    await check(page, 'experiments');
    await page.goto(`${base}/models/fashion-classifier`);
    await page.getByRole('link', { name: 'bn-cnn vs baseline' }).waitFor();
    await expect(page.getByText('Experiment running:').count()).resolves.toBe(1);
    await check(page, 'model-experiment-running');

    // Stop & promote only opens on a significant winner; a plain stop asks first, then ends it.
    await page.goto(`${base}/experiments/${experimentId}`);
    const promote = page.getByRole('button', { name: 'Stop & promote' });
    await expect(promote.isDisabled()).resolves.toBe(experiment.decision !== 'CANDIDATE_BETTER');
    await page.getByRole('button', { name: 'Stop experiment' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.textContent()).resolves.toContain('“champion” does not move');
    await dialog.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('button', { name: 'Stop experiment' }).waitFor({ state: 'detached' });
    const stopped = expectData(
      await t.gql(
        `query($id: ID!) { experiment(id: $id) { status decision stoppedBy } }`,
        { id: experimentId },
        t.keys.viewer,
      ),
    ).experiment;
    expect(stopped.status).toBe('STOPPED');
    await page
      .getByText(/^stopped$/)
      .first()
      .waitFor();
    await check(page, 'experiment-stopped');

    // Stop & promote, on an experiment whose feedback makes v2 clearly better: its answers are all
    // judged right and the control's all wrong (labels chosen for the UI, not measured), so the test decides at minSamples.
    // "champion" on v3 (where the comparison above put it), so that promoting v2 moves it.
    await t.app.services.aliases.set(actor, 'fashion-classifier', 'champion', 3);
    const { startExperiment } = expectData(
      await t.gql(
        `mutation { startExperiment(input: { model: "fashion-classifier", name: "promote v2", minSamples: 20,
            arms: [{ name: "v2", ref: { model: "fashion-classifier", version: 2 }, weight: 0.5 }] }) { id } }`,
        {},
        t.keys.operator,
      ),
    );
    const labels: string[] = dataset.labels;
    for (let round = 0; round < 4; round++) {
      const batch = items.slice(round * 25, round * 25 + 25);
      const images = await Promise.all(
        batch.map(async (item) => {
          const { file } = await t.app.services.datasets.itemImage(
            actor,
            'fashion-eval',
            item.ordinal,
            dataset.version,
          );
          return { base64: readFileSync(file).toString('base64') };
        }),
      );
      const { predictBatch } = expectData(
        await t.gql(
          `query($images: [ImageInput!]!) { predictBatch(ref: { model: "fashion-classifier" }, images: $images, topK: 1) { id resolvedBy top { label } } }`,
          { images },
          t.keys.operator,
        ),
      );
      const feedback = predictBatch.map((p: any) => {
        const top = p.top[0].label;
        const wrong = labels.find((l) => l !== top)!;
        return { predictionId: p.id, label: p.resolvedBy.endsWith('/v2') ? top : wrong };
      });
      expectData(
        await t.gql(
          `mutation($items: [FeedbackInput!]!) { recordFeedbackBatch(feedback: $items) { created } }`,
          { items: feedback },
          t.keys.operator,
        ),
      );
      await t.app.services.experiments.settle();
    }
    await page.goto(`${base}/experiments/${startExperiment.id}`);
    await page.getByRole('heading', { name: 'Candidate better' }).waitFor();
    await expect(page.getByTestId('decision-sentence').textContent()).resolves.toMatch(
      /^v2 is better than control \(v1\): \+\d+\.\d pts, always-valid p [=<] /,
    );
    await page.getByRole('button', { name: 'Stop & promote' }).click();
    const promoteDialog = page.getByRole('dialog');
    await expect(promoteDialog.textContent()).resolves.toContain('move “champion” of fashion-classifier to v2');
    await promoteDialog.getByRole('button', { name: 'Stop and make v2 champion' }).click();
    await page.getByText('v2 promoted to “champion”').waitFor();
    await check(page, 'experiment-promoted');
    const { modelVersion, model } = expectData(
      await t.gql(
        `{ modelVersion(ref: { model: "fashion-classifier", alias: "champion" }) { version }
           model(name: "fashion-classifier") { aliasHistory(alias: "champion") { toVersion reason } } }`,
        {},
        t.keys.viewer,
      ),
    );
    expect(modelVersion.version).toBe(2);
    expect(model.aliasHistory.at(-1)).toMatchObject({ toVersion: 2, reason: expect.stringMatching(/"promote v2"/) });

    // SHADOW: the control answers; v3 also runs on every request, off the response path.
    const shadow = expectData(
      await t.gql(
        `mutation { startExperiment(input: { model: "fashion-classifier", name: "v3 in the shadow", mode: SHADOW,
            arms: [{ name: "v3", ref: { model: "fashion-classifier", version: 3 }, weight: 1 }] }) { id } }`,
        {},
        t.keys.operator,
      ),
    ).startExperiment;
    for (let round = 0; round < 3; round++) {
      const batch = items.slice(100 + round * 20, 120 + round * 20);
      for (const item of batch) {
        const { file } = await t.app.services.datasets.itemImage(actor, 'fashion-eval', item.ordinal, dataset.version);
        const { predict } = expectData(
          await t.gql(
            `query($b: String!) { predict(ref: { model: "fashion-classifier" }, image: { base64: $b }, topK: 1) { id resolvedBy } }`,
            { b: readFileSync(file).toString('base64') },
            t.keys.operator,
          ),
        );
        expect(predict.resolvedBy).toBe(`experiment:${shadow.id}/control`);
        // Let the shadow run finish before the label arrives, as it would in real use.
        await new Promise((r) => setTimeout(r, 20));
        expectData(
          await t.gql(
            `mutation($id: ID!, $label: String!) { recordFeedback(predictionId: $id, label: $label) { created } }`,
            { id: predict.id, label: labels[item.labelIndex] },
            t.keys.operator,
          ),
        );
      }
      await t.app.services.experiments.settle();
    }
    await page.goto(`${base}/experiments/${shadow.id}`);
    const shadowArms = expectData(
      await t.gql(
        `query($id: ID!) { experiment(id: $id) { arms { name agreement requests shadowDropped } } }`,
        { id: shadow.id },
        t.keys.viewer,
      ),
    ).experiment.arms;
    await row('Agreement with the control').waitFor();
    expect(await cellsOf('Agreement with the control')).toEqual([
      '—',
      shadowArms[1].agreement == null ? '—' : `${(shadowArms[1].agreement * 100).toFixed(1)}%`,
    ]);
    expect(await cellsOf('Shadow runs dropped')).toEqual(shadowArms.map((a: any) => String(a.shadowDropped)));
    for (const chart of ['experiment-p-value', 'experiment-confidence-sequence', 'experiment-accuracy'])
      await page.locator(`figure[data-chart="${chart}"] svg`).first().waitFor();
    await check(page, 'experiment-shadow');
    expectData(
      await t.gql(`mutation($id: ID!) { stopExperiment(id: $id) { status } }`, { id: shadow.id }, t.keys.operator),
    );

    // Back to v3, where the earlier comparison put it, for the tests that follow.
    await t.app.services.aliases.set(actor, 'fashion-classifier', 'champion', 3);
  }, 240_000);

  it('shows the runtime, datasets, imports and keys pages; creates a key shown once and revokes it', async () => {
    await page.goto(`${base}/runtime`);
    await page.getByRole('heading', { name: 'Loaded versions' }).waitFor();
    await page
      .getByRole('cell', { name: /fashion-classifier v3/ })
      .or(page.getByRole('rowheader', { name: /fashion-classifier v3/ }))
      .first()
      .waitFor();
    await check(page, 'runtime');

    await page.goto(`${base}/datasets`);
    await page.getByRole('list', { name: 'Sample images of fashion-eval' }).waitFor();
    await imagesLoaded(page, 'ul.samples img', 64);
    await check(page, 'datasets');

    await page.goto(`${base}/imports?path=${encodeURIComponent(path.resolve(__dirname, '..', '..', 'models'))}`);
    await page.getByRole('button', { name: 'Dry run' }).click();
    // A dry run re-reads and hashes the whole demo project (a 23 MB model, 2,100 images): slow on a busy machine.
    await page.getByRole('heading', { name: 'What the import would do' }).waitFor({ timeout: 150_000 });
    await expect(page.getByRole('table').textContent()).resolves.toContain('unchanged');
    await check(page, 'imports');

    await page.goto(`${base}/keys`);
    await page.getByLabel('Name').fill('ui-test-key');
    await page.getByLabel('Role').selectOption('VIEWER');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('New key').inputValue();
    expect(secret).toMatch(/^mg_/);
    expect(expectData(await t.gql('{ viewer { name } }', {}, secret)).viewer.name).toBe('ui-test-key');
    await check(page, 'keys');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke ui-test-key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText(/revoked/).waitFor();
    const refused = await page.request.post(`${base}/graphql`, {
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      data: { query: '{ viewer { name } }' },
    });
    expect([refused.status(), (await refused.json()).errors[0].extensions.code]).toEqual([401, 'UNAUTHENTICATED']);
  }, 240_000);

  it('opens GraphiQL, bundled, with the session', async () => {
    const introspection = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST');
    await page.goto(`${base}/graphiql`);
    await page.locator('.graphiql-container').waitFor();
    expect((await introspection).status()).toBe(200);
    await check(page, 'graphiql');
  });

  it('shows a viewer no promote, alias or key actions', async () => {
    const viewer = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const p = await viewer.newPage();
    await signIn(p, t.keys.viewer);
    await expect(p.getByRole('navigation', { name: 'Main' }).textContent()).resolves.not.toMatch(/Keys|Imports/);
    await p.goto(`${base}/comparisons/${comparisonId}`);
    await p.locator('.verdict').waitFor();
    await expect(p.getByRole('button', { name: 'Promote candidate' }).count()).resolves.toBe(0);
    await expect(p.getByRole('button', { name: 'Start comparison' }).count()).resolves.toBe(0);
    await p.goto(`${base}/experiments`);
    await p.getByRole('link', { name: 'bn-cnn vs baseline' }).waitFor();
    await expect(p.getByRole('button', { name: 'Start experiment' }).count()).resolves.toBe(0);
    await p.goto(`${base}/models/fashion-classifier`);
    await p.getByRole('heading', { name: 'Aliases' }).waitFor();
    await expect(p.getByRole('button', { name: /Move|Remove|Set alias/ }).count()).resolves.toBe(0);
    await p.goto(`${base}/keys`);
    await p.getByText('Only an admin key can manage keys.').waitFor();
    await viewer.close();
  });
});
