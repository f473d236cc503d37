// PHQ-9 in <parcours-questionnaire> and in its peers, for bench.mjs. Every
// page comes from the same loopback server (host/cmd/parcours-bench, pages in
// peers/) and renders the same Questionnaire JSON
// (sdk/questionnaire/instruments/phq-9.json). From the start of navigation:
//
//   content: the first contentful paint of the widget's document: Parcours'
//            frame (its intro, server-rendered), the peers' page (which holds
//            nothing but the widget);
//   question: the text of the first question is visible. Parcours asks for
//             sign-in before the questions, the peers do not: the patient
//             is signed in before the timing (POST /api/v1/demo/session, no
//             draft), and the measure includes one click on "Commencer" as
//             soon as it shows (a form post before the Wasm runs, in place
//             after);
//   answered: the first option of the first question is chosen and the
//             widget's model has it:
//     Parcours: a click on the radio as soon as the question shows, until
//               either the host has saved it in the patient's draft (before
//               the Wasm runs, frame.js saves each answer in the background:
//               html[data-parcours-saved], and the draft is read back after
//               the timing to check that it holds the answer) or the Wasm
//               runs the widget and has re-rendered the radio as checked
//               from its model (the checked attribute; viaWasm);
//     LHC-Forms: it renders these choice items as drop-down lists (the
//               Questionnaire asks for no radio buttons): a click on the
//               first question's field, a click on the option, until
//               LForms.Util.getFormFHIRData's QuestionnaireResponse has it;
//     Medplum: a click on the radio, until it is checked and the
//               QuestionnaireForm's onChange has delivered a
//               QuestionnaireResponse holding the answer;
//
// and the bytes received by then, at each step.
import { readFileSync } from 'node:fs';

const TIMEOUT = 60000;

// firstQuestion is the text of the first choice question of the
// Questionnaire and the label of its first option.
function firstQuestion(q) {
  const walk = (items) => {
    for (const it of items || []) {
      if (it.type === 'choice' && it.answerOption?.length) return it;
      const found = walk(it.item);
      if (found) return found;
    }
    return null;
  };
  const it = walk(q.item);
  if (!it) throw new Error('the Questionnaire has no choice question');
  return { linkId: it.linkId, text: it.text, option: it.answerOption[0].valueCoding?.display ?? String(it.answerOption[0].valueString) };
}

// recordPaints has every document of the context's pages (frames included)
// report its first contentful paint, on the browser's clock, to page.paints.
async function recordPaints(ctx) {
  await ctx.exposeBinding('benchPaint', ({ page, frame }, t) => { page.paints?.push({ frame, t }); });
  await ctx.addInitScript(() => {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.name === 'first-contentful-paint') window.benchPaint(performance.timeOrigin + e.startTime);
      }
    }).observe({ type: 'paint', buffered: true });
  });
}

// The measures of each run, summarised by bench.mjs.
const metrics = ['content', 'question', 'answered', 'bytesQuestion', 'bytes'];

// questionnaireScenarios returns the scenarios bench.mjs runs: Parcours,
// then the peers in env.PEERS (the ones the bench could install).
export function questionnaireScenarios(env) {
  const { HOST_URL: host, PEERS_URL: pages, QUESTIONNAIRE_JSON: file } = env;
  if (!host || !pages || !file) throw new Error('HOST_URL, PEERS_URL and QUESTIONNAIRE_JSON are required');
  const questionnaire = JSON.parse(readFileSync(file, 'utf8'));
  const first = firstQuestion(questionnaire);
  const establishment = 'chu-exemple';
  const patient = 'pat-lucas-bernard';

  // timed navigates to a page and runs the steps, each returning when its
  // moment is reached; it records the time and the bytes at each, and the
  // first contentful paint of the document widgetDoc picks (a frame).
  const timed = async (page, net, url, widgetDoc, steps) => {
    page.paints = [];
    const t0 = Date.now();
    await page.goto(url, { waitUntil: 'commit' });
    const out = {};
    for (const [name, step] of Object.entries(steps)) {
      await step();
      out[name] = Date.now() - t0;
      out['bytes' + name[0].toUpperCase() + name.slice(1)] = net.bytes();
    }
    out.bytes = out.bytesAnswered;
    // Paints are reported by the page as they happen (recordPaints), and
    // read once the page has been served, on the page's clock.
    const origin = await page.evaluate(() => performance.timeOrigin);
    const paint = page.paints.find((p) => widgetDoc(p.frame));
    if (!paint) throw new Error('no first contentful paint of the widget');
    out.content = Math.round(paint.t - origin);
    return out;
  };
  const peerAnswered = (page) => page.waitForFunction(() => window.peerAnswered(), null, { timeout: TIMEOUT });
  const mainFrame = (f) => f === f.page().mainFrame();

  const parcours = {
    widget: 'questionnaire', peer: 'parcours', metrics,
    // A demo session, as a patient signed in before.
    setup: async (ctx) => {
      await recordPaints(ctx);
      const r = await ctx.request.post(host + '/api/v1/demo/session', { data: { patient } });
      if (!r.ok()) throw new Error(`demo sign-in: ${r.status()} ${await r.text()}`);
    },
    // No draft: the questionnaire starts afresh at every run.
    before: async (ctx) => {
      const r = await ctx.request.delete(`${host}/api/v1/establishments/${establishment}/questionnaires/${questionnaire.id}/draft`);
      if (!r.ok() && r.status() !== 404) throw new Error(`deleting the draft: ${r.status()} ${await r.text()}`);
    },
    // Variant B of -questionnaire -loader-frames-b: the element without
    // its frame, which the loader makes.
    measure: async (page, net, site, warmup, variant) => {
      let via = '';
      const path = variant === 'B' && env.QUESTIONNAIRE_B === 'loader-frames' ? '/parcours/loader/' : '/parcours/';
      const w = page.frameLocator('parcours-questionnaire iframe');
      const row = w.locator(`.pc-qrow[data-link="${first.linkId}"]`);
      const widgetDoc = (f) => f.url().startsWith(host + '/w/questionnaire');
      const out = await timed(page, net, pages + path, widgetDoc, {
        question: async () => {
          await w.locator('button[name="a"][value="begin"]').click({ timeout: TIMEOUT, noWaitAfter: true });
          await w.getByText(first.text).first().waitFor({ timeout: TIMEOUT });
        },
        answered: async () => {
          await row.getByLabel(first.option, { exact: true }).click({ timeout: TIMEOUT });
          const frame = await (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();
          const how = await frame.waitForFunction((link) => {
            const root = document.documentElement;
            if (root.getAttribute('data-wasm') === 'running' && performance.getEntriesByName('parcours:interactive').length > 0 &&
                document.querySelector(`.pc-qrow[data-link="${link}"] input[type="radio"][checked]`)) return 'wasm';
            return root.hasAttribute('data-parcours-saved') && 'draft';
          }, first.linkId, { timeout: TIMEOUT });
          via = await how.jsonValue();
        },
      });
      // Saved by the host: the draft must hold the answer.
      if (via === 'draft') {
        const frame = await (await page.locator('parcours-questionnaire iframe').elementHandle()).contentFrame();
        const d = await frame.evaluate((u) => fetch(u).then((r) => r.text()), `/api/v1/establishments/${establishment}/questionnaires/${questionnaire.id}/draft`);
        if (!d.includes(`"${first.linkId}"`)) throw new Error(`the draft does not hold the answer: ${d}`);
      }
      return { ...out, viaWasm: via === 'wasm' };
    },
  };

  const lforms = {
    widget: 'questionnaire', peer: 'lforms', metrics, setup: recordPaints,
    measure: (page, net) => timed(page, net, pages + '/lforms/', mainFrame, {
      question: () => page.getByText(first.text).first().waitFor({ timeout: TIMEOUT }),
      answered: async () => {
        await page.locator('lhc-item').filter({ hasText: first.text }).locator('input[role="combobox"]').first().click({ timeout: TIMEOUT });
        await page.locator('#lhc-tools-searchResults li').filter({ hasText: first.option }).first().click({ timeout: TIMEOUT });
        await peerAnswered(page);
      },
    }),
  };

  const medplum = {
    widget: 'questionnaire', peer: 'medplum', metrics, setup: recordPaints,
    measure: (page, net) => timed(page, net, pages + '/medplum/', mainFrame, {
      question: () => page.getByText(first.text).first().waitFor({ timeout: TIMEOUT }),
      answered: async () => {
        const radio = page.locator(`input[type="radio"][name="${first.linkId}"]`).first();
        await page.getByRole('radio', { name: first.option, exact: true }).first().click({ timeout: TIMEOUT });
        await peerAnswered(page);
        if (!(await radio.isChecked())) throw new Error('the radio is not checked');
      },
    }),
  };

  const peers = (env.PEERS || '').split(',').filter(Boolean);
  return [parcours, ...[lforms, medplum].filter((s) => peers.includes(s.peer))];
}
