/**
 * The Node-RED editor in a real browser (Debian's Chromium, driven by playwright-core), against
 * a started Node-RED with this package and every sandbox: palette, edit dialogs and their
 * look-ups, help (English and French), Import > Examples, and one example imported through the
 * Import dialog, deployed with the Deploy button and run end to end.
 *
 * Screenshots go to docs/images/ when CHIS_SCREENSHOTS=1 (to refresh the README's pictures),
 * else to the git-ignored .test-output/screenshots/, so `npm test` never changes tracked files.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SYSTEMS } from '../../sandbox';
import * as openmrsSeed from '../../sandbox/openmrs/seed';
import { KIMIRONKO_LOCATION_ID } from '../../sandbox/commcare/seed';
import { DEMO_CREDENTIALS } from '../../scripts/demo-credentials';
import { combinedExampleFlows, listFlowFiles, PROJECT_ROOT, readFlow, retarget, withCredentials, type FlowNode } from '../../scripts/runtime';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { nodeRedVersion } from '../support/runtime-env';
import { sampleJson, samplesAvailable } from '../support/samples';

const CHROMIUM = process.env.CHIS_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT_DIR = process.env.CHIS_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'images') : path.join(PROJECT_ROOT, '.test-output', 'screenshots');
const ENCOUNTER_EXAMPLE = 'commcare-to-openmrs-encounter';
const FRENCH_HELP_CANDIDATES = ['chis-mapper', 'chis-openmrs-writer', 'chis-commcare-form-receiver', 'chis-rapidpro-flow-start'];
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };
const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from('admin:Admin123').toString('base64')}` };
const COMMCARE_AUTH = { Authorization: 'ApiKey demo@example.org:demo-api-key', 'Content-Type': 'application/json' };
const FOLLOWUP_XMLNS = 'http://openrosa.org/formdesigner/chis-demo-followup';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };

/** What the browser said that a user would see as a failure: console errors and uncaught exceptions. */
interface Problem { text: string; where: string }

/** One look-up input of an edit dialog after it was focused: its options, or the note it showed. */
interface LookupResult { input: string; options: number; note: string }

describe(`the editor in Chromium, on Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(180_000);
  let harness: FlowHarness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let packageTypes: string[];
  const problems: Problem[] = [];
  const pending = new Map<object, string>();

  /** Sandbox default origins -> the test's sandboxes, as the flow harness retargets flows. */
  const origins = (): Record<string, string> => Object.fromEntries(Object.values(harness.sandboxes).map((sandbox) => [`http://127.0.0.1:${SYSTEMS[sandbox.name].DEFAULT_PORT}`, sandbox.url]));

  const screenshot = (name: string): string => {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    return path.join(SCREENSHOT_DIR, name);
  };

  function watch(target: Page, into: Problem[]): void {
    target.on('console', (message) => {
      if (message.type() !== 'error') return;
      const location = message.location();
      into.push({ text: message.text(), where: `${location.url}:${location.lineNumber}` });
    });
    target.on('pageerror', (error) => into.push({ text: error.message, where: (error.stack ?? '').split('\n')[1]?.trim() ?? '' }));
  }

  async function openEditor(target: Page, query = ''): Promise<void> {
    await target.goto(`${harness.runtime.url}/${query}`);
    await target.waitForFunction(() => {
      const red = (window as any).RED;
      return red?.nodes && red.workspaces?.count?.() > 0 && document.querySelector('.red-ui-palette-node') !== null && !document.querySelector('#red-ui-loading-progress:not([style*="none"])');
    }, undefined, { timeout: 30_000 });
    // The tips panel would sit in every picture.
    await target.evaluate(() => (window as any).RED.actions.invoke('core:toggle-show-tips', false));
  }

  /** Waits until the page has no request in flight (look-ups, previews); returns the ones that never ended. */
  async function settle(): Promise<string[]> {
    try {
      await eventually(() => pending.size === 0, 10_000, 50);
      return [];
    } catch {
      return [...pending.values()];
    }
  }

  /** Cancels any edit dialog a failed test left open, so the next test starts on the workspace. */
  async function closeDialogs(): Promise<void> {
    for (let depth = 0; depth < 5; depth++) {
      const cancel = page.locator('#node-config-dialog-cancel:visible, #node-dialog-cancel:visible, #red-ui-clipboard-dialog-cancel:visible').first();
      if (!(await cancel.count())) return;
      await cancel.click();
      await cancel.waitFor({ state: 'hidden' });
    }
  }

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHIS_CHROMIUM. .ci/run installs it.`);
    }
    harness = await startHarness({ name: 'browser-editor' });
    packageTypes = (await harness.runtime.nodeSets()).filter((set) => set.module === pkg.name).flatMap((set) => set.types);
    // playwright gives each launch a fresh, throwaway profile directory.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    watch(page, problems);
    page.on('request', (request) => { if (request.resourceType() === 'xhr' || request.resourceType() === 'fetch') pending.set(request, `${request.method()} ${request.url()}`); });
    page.on('requestfinished', (request) => pending.delete(request));
    page.on('requestfailed', (request) => pending.delete(request));
    await openEditor(page);
  });

  afterEach(async () => {
    if (page) await closeDialogs();
  });

  after(async () => {
    await browser?.close();
    await harness?.stop();
  });

  it('loads the editor with no console errors', () => {
    assert.deepEqual(problems, []);
  });

  it('shows every node type of the package in the palette, config nodes registered', async () => {
    const declared = Object.keys(pkg['node-red'].nodes);
    const loadedSets = (await harness.runtime.nodeSets()).filter((set) => set.module === pkg.name).map((set) => set.id.split('/').pop());
    assert.deepEqual([...loadedSets].sort(), [...declared].sort(), 'GET /nodes lists every node set of package.json');
    const seen = await page.evaluate((types) => types.map((type) => {
      const definition = (window as any).RED.nodes.getType(type);
      return {
        type,
        registered: Boolean(definition),
        config: definition?.category === 'config',
        inPalette: document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"]`) !== null,
        label: (document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`)?.textContent ?? '').trim(),
      };
    }), packageTypes);
    assert.deepEqual(seen.filter((node) => !node.registered).map((node) => node.type), [], 'every type registers in the editor');
    assert.deepEqual(seen.filter((node) => !node.config && !node.inPalette).map((node) => node.type), [], 'every non-config type is in the palette');
    assert.deepEqual(seen.filter((node) => node.inPalette && !node.label).map((node) => node.type), [], 'every palette node has a label');

    // The palette filter matches node types too: "chis-" leaves only this package's nodes, for the picture.
    await page.setViewportSize({ width: 1600, height: 2600 });
    const filter = page.locator('#red-ui-palette-search input');
    await filter.click();
    await filter.pressSequentially('chis-');
    await eventually(() => page.locator('.red-ui-palette-node[data-palette-type="inject"]').isHidden(), 5_000);
    await page.waitForTimeout(500); // categories open with an animation
    assert.deepEqual(await page.locator('.red-ui-palette-node:visible').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-palette-type')).filter((type) => !type?.startsWith('chis-'))), []);
    await page.locator('#red-ui-palette').screenshot({ path: screenshot('editor-palette.png') });
    await filter.fill('');
    await filter.press('Escape');
    await page.setViewportSize({ width: 1600, height: 1000 });
  });

  /** Menu > Import > Examples, with this package's folder open. */
  async function openExamples(): Promise<ReturnType<Page['locator']>> {
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples').click();
    const library = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await library.getByText(pkg.name, { exact: true }).click();
    return library;
  }

  it('lists every example flow under Import > Examples', async () => {
    const library = await openExamples();
    const expected = listFlowFiles().map((file) => file.replace(/\.json$/, ''));
    await eventually(async () => {
      const labels = await library.locator('.red-ui-treeList-label').allInnerTexts();
      return expected.every((name) => labels.some((label) => label.trim() === name));
    }, 10_000).catch(async () => {
      assert.fail(`Import > Examples lists ${JSON.stringify(await library.locator('.red-ui-treeList-label').allInnerTexts())}, expected all of ${JSON.stringify(expected)}`);
    });
    await page.locator('#red-ui-clipboard-dialog-cancel').click();
  });

  it(`imports ${ENCOUNTER_EXAMPLE} through the Import dialog, deploys it, and the flow writes the encounter into OpenMRS`, async () => {
    const library = await openExamples();
    await library.locator('.red-ui-treeList-label', { hasText: ENCOUNTER_EXAMPLE }).first().click();
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    const example = readFlow(`${ENCOUNTER_EXAMPLE}.json`);
    await eventually(() => page.evaluate((ids) => ids.every((id) => (window as any).RED.nodes.node(id) ?? (window as any).RED.nodes.workspace(id)), example.map((node) => node.id)), 10_000);
    const tab = example.find((node) => node.type === 'tab') as FlowNode;
    await page.locator(`[id="red-ui-tab-${tab.id}"]`).click();

    // As a user would: open each server's dialog, point it at the sandbox, type the demo credentials.
    const retargeted = new Map(retarget(example, origins()).map((node) => [node.id, node]));
    for (const node of example.filter((candidate) => !candidate.z && candidate.type !== 'tab')) {
      await page.evaluate(({ type, id }) => (window as any).RED.editor.editConfig('', type, id), { type: node.type, id: node.id });
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
      const target = retargeted.get(node.id) as FlowNode;
      for (const [key, value] of Object.entries(target)) {
        if (value !== node[key]) await page.locator(`#node-config-input-${key}`).fill(String(value));
      }
      for (const [key, value] of Object.entries(DEMO_CREDENTIALS[node.id] ?? DEMO_CREDENTIALS[node.type] ?? {})) {
        // Rows of other auth modes stay hidden; the dialog may still be showing the mode's rows,
        // so wait briefly rather than read visibility once (a missed password was a 401 later).
        const input = page.locator(`#node-config-input-${key}`);
        const shown = await input.waitFor({ state: 'visible', timeout: 2_000 }).then(() => true, () => false);
        if (shown) await input.fill(value);
      }
      await page.locator('#node-config-dialog-ok').click();
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
    }

    const logged = harness.runtime.output.length;
    await page.locator('#red-ui-header-button-deploy').click();
    await eventually(() => harness.runtime.output.slice(logged).some((line) => /Started (flows|modified)/.test(line)), 15_000);
    await harness.runtime.waitForFlowsStarted();
    const deployed = await harness.runtime.flows();
    assert.ok(deployed.some((node) => node.id === 'encounter-receiver'), 'the receiver is deployed');

    // A CommCare case for Amina, as the follow-up flow would have made it, then her visit form.
    const commcare = harness.sandboxUrl('commcare');
    const created = await fetch(`${commcare}/a/demo/api/case/v2/ext/${openmrsSeed.PATIENTS.amina}`, {
      method: 'PUT', headers: COMMCARE_AUTH, body: JSON.stringify({ case_type: 'patient', case_name: 'Amina Otieno', owner_id: KIMIRONKO_LOCATION_ID }),
    });
    assert.ok(created.ok, await created.text());
    const { cases } = (await (await fetch(`${commcare}/a/demo/api/case/v2/?external_id=${openmrsSeed.PATIENTS.amina}`, { headers: COMMCARE_AUTH })).json()) as { cases: Array<{ case_id: string }> };
    const formId = randomUUID();
    const posted = await fetch(`${harness.runtime.url}/commcare/forms`, {
      method: 'POST',
      headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(followUpForm(cases[0].case_id, formId, { visit_date: '2026-11-20', weight_kg: '61.5', temperature_c: '38.2', danger_signs: 'yes' })),
    });
    assert.equal(posted.status, 200, await posted.text());
    const openmrs = `${harness.sandboxUrl('openmrs')}/openmrs/ws/rest/v1`;
    type Encounter = { obs: Array<{ value: unknown }> };
    const encountersOfAmina = async (): Promise<Encounter[]> => ((await (await fetch(`${openmrs}/encounter?patient=${openmrsSeed.PATIENTS.amina}&encounterType=${openmrsSeed.ENCOUNTER_TYPES.communityFollowUp}&v=full`, { headers: OPENMRS_AUTH })).json()) as { results: Encounter[] }).results;
    // The flow accepts the form into its outbox, then writes: the encounter appears shortly after.
    const written = await eventually(async () => (await encountersOfAmina()).find((encounter) => encounter.obs.some((obs) => obs.value === 61.5)), 20_000)
      .catch(async (error: Error) => assert.fail(`the form's encounter is not in OpenMRS (${error.message}): ${JSON.stringify(await encountersOfAmina())}`));
    assert.equal(written.obs.length, 3, 'one obs per mapped question');
    assert.deepEqual(problems, [], 'no console errors while importing and deploying');
  });

  describe('with every example flow deployed', () => {
    before(async () => {
      await harness.runtime.deploy(withCredentials(retarget(combinedExampleFlows(), origins()), DEMO_CREDENTIALS));
      await openEditor(page);
      problems.length = 0;
    });

    it('opens every node\'s edit dialog with no console errors, and fills its look-ups from the sandboxes', async () => {
      const failures: string[] = [];
      const lookups: Record<string, LookupResult[]> = {};
      for (const type of packageTypes) {
        const node = await page.evaluate((nodeType) => {
          const RED = (window as any).RED;
          const configOfType = (configType: string): { id: string } | undefined => {
            let found: { id: string } | undefined;
            RED.nodes.eachConfig((candidate: { id: string; type: string }) => {
              if (!found && candidate.type === configType) found = candidate;
            });
            return found;
          };
          const definition = RED.nodes.getType(nodeType);
          const config = definition.category === 'config';
          // A config node no example uses opens as "add new".
          if (config) return { id: configOfType(nodeType)?.id, config };
          const existing = RED.nodes.filterNodes({ type: nodeType })[0];
          if (existing) return { id: existing.id as string, config };
          // No example uses it: drop a new one on the current tab, wired to the deployed servers.
          const fresh: Record<string, unknown> = { id: RED.nodes.id(), type: nodeType, z: RED.workspaces.active(), x: 200, y: 600 };
          for (const [key, property] of Object.entries<any>(definition.defaults ?? {})) {
            if (property.type) fresh[key] = configOfType(property.type)?.id ?? '';
          }
          RED.view.importNodes([fresh], { generateIds: false });
          return { id: fresh.id as string, config };
        }, type);
        const before = problems.length;
        const ok = node.config ? '#node-config-dialog-ok' : '#node-dialog-ok';
        const cancel = node.config ? '#node-config-dialog-cancel' : '#node-dialog-cancel';
        await page.evaluate(({ id, config, nodeType }) => {
          const RED = (window as any).RED;
          if (config) RED.editor.editConfig('', nodeType, id);
          else RED.editor.edit(RED.nodes.node(id));
        }, { id: node.id, config: node.config, nodeType: type });
        try {
          await page.locator(ok).waitFor({ state: 'visible', timeout: 10_000 });
        } catch {
          failures.push(`${type}: the edit dialog did not open`);
          continue;
        }
        try {
          for (const request of await settle()) failures.push(`${type}: request still open 10 s after the dialog opened: ${request}`);
          lookups[type] = await fillLookups(page, settle);
          for (const request of await settle()) failures.push(`${type}: look-up request still open after 10 s: ${request}`);
          for (const lookup of lookups[type]) {
            if (lookup.options === 0) failures.push(`${type}: look-up ${lookup.input} has no options${lookup.note ? ` ("${lookup.note}")` : ''}`);
          }
          for (const problem of problems.slice(before)) failures.push(`${type}: console error "${problem.text}" at ${problem.where}`);
        } finally {
          await page.locator(cancel).click();
          await page.locator(ok).waitFor({ state: 'detached' });
        }
      }
      const withLookups = Object.entries(lookups).filter(([, results]) => results.length > 0);
      console.log(`      look-ups: ${withLookups.map(([type, results]) => `${type} (${results.map((result) => `${result.input}: ${result.options}`).join(', ')})`).join('; ')}`);
      assert.ok(withLookups.length > 0, 'some dialogs have look-ups');
      assert.deepEqual(failures, []);
    });

    /** Opens the edit dialog of the first deployed node of a type, runs `check` in it, then cancels. */
    async function inDialogOf<T>(type: string, check: () => Promise<T>): Promise<T> {
      const opened = await page.evaluate((nodeType) => {
        const RED = (window as any).RED;
        const node = RED.nodes.filterNodes({ type: nodeType })[0];
        if (node) RED.editor.edit(node);
        return Boolean(node);
      }, type);
      assert.ok(opened, `an example flow has a ${type}`);
      await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
      try {
        return await check();
      } finally {
        await page.locator('#node-dialog-cancel').click();
        await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      }
    }

    it('shows each source\'s confirm-timeout row only while the checkpoint waits for a confirmation', async () => {
      const sources = ['chis-cht-changes-source', 'chis-commcare-case-source', 'chis-dhis2-source', 'chis-fhir-search-source', 'chis-openmrs-source', 'chis-rapidpro-runs-source'];
      for (const type of sources) {
        await inDialogOf(type, async () => {
          const mode = page.locator('#node-input-checkpointAfter');
          const row = page.locator('.chis-confirm-timeout-row');
          const saved = await mode.inputValue();
          // Sources saved without the setting run with 'emit', and the dialog says so.
          assert.ok(saved === 'emit' || saved === 'confirm', `${type}: the dialog shows the mode the node runs with, not "${saved}"`);
          assert.equal(await row.isVisible(), saved === 'confirm', `${type}: the row follows the saved mode "${saved}" when the dialog opens`);
          await mode.selectOption('confirm');
          assert.ok(await row.isVisible(), `${type}: shown for "confirm"`);
          await mode.selectOption('emit');
          assert.ok(await row.isHidden(), `${type}: hidden for "emit"`);
        });
      }
      assert.deepEqual(problems, []);
    });

    it('keeps the typed inputs of the look-up and task dialogs with their own kinds', async () => {
      const anyKind = ['str', 'msg', 'flow', 'global', 'env', 'jsonata'];
      // lookup: the server's values are offered on the typed input's text box while its kind is text.
      const expected: Record<string, { field: string; types: string[]; lookup?: boolean }> = {
        'chis-cht-contact-lookup': { field: 'value', types: ['msg', 'flow', 'global', 'str', 'jsonata'] },
        'chis-openmrs-patient-read': { field: 'value', types: ['msg', 'flow', 'global', 'str', 'jsonata'] },
        'chis-fhir-task': { field: 'businessStatus', types: ['str', 'msg'] },
        'chis-commcare-case-lookup': { field: 'idProperty', types: ['msg', 'flow', 'global', 'env', 'jsonata', 'str'] },
        'chis-commcare-lookup-table-writer': { field: 'table', types: anyKind },
        'chis-fhir-writer': { field: 'criteria', types: anyKind },
        'chis-cht-record-writer': { field: 'form', types: anyKind, lookup: true },
      };
      for (const [type, { field, types, lookup }] of Object.entries(expected)) {
        const seen = await inDialogOf(type, () => page.evaluate((name) => {
          const $input = (window as any).$(`#node-input-${name}`);
          return {
            types: $input.typedInput('instance').typeList.map((option: { value: string }) => option.value) as string[],
            type: $input.typedInput('type') as string,
            typeField: (document.querySelector(`#node-input-${name}Type`) as HTMLInputElement).value,
            list: document.querySelector(`#node-input-${name}-text`)?.getAttribute('list') ?? null,
          };
        }, field));
        assert.deepEqual(seen.types, types, `${type}: the kinds ${field} can come from`);
        assert.equal(seen.type, seen.typeField, `${type}: the typed input keeps its kind in ${field}Type`);
        const offered = lookup && seen.type === 'str' ? `node-input-${field}-text-options` : null;
        assert.equal(seen.list, offered, `${type}: ${field} ${lookup ? 'offers the server\'s values while typed as text' : 'has no look-up'}`);
      }
      assert.deepEqual(problems, []);
    });

    it('renders help for every node type in the help sidebar', async () => {
      const missing: string[] = [];
      for (const type of packageTypes) {
        const text = await helpText(page, type);
        if (text.length < 80) missing.push(`${type}: "${text.slice(0, 80)}"`);
      }
      assert.deepEqual(missing, [], 'help with at least a paragraph');
      // A palette click shows the node's help too, as users find it.
      await page.locator('.red-ui-palette-node[data-palette-type="chis-openmrs-writer"]').click();
      await eventually(async () => (await page.locator('.red-ui-sidebar-info .red-ui-help .red-ui-help:visible').first().innerText()).includes('OpenMRS'), 5_000);
    });

    it('shows the OpenMRS writer dialog with its look-ups (screenshot)', async () => {
      await page.evaluate(() => (window as any).RED.workspaces.show('encounter-tab'));
      await page.locator('[id="encounter-writer"] .red-ui-flow-node').dblclick();
      await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
      assert.deepEqual(await settle(), []);
      const location = page.locator('#node-input-location-text');
      await location.fill('');
      await eventually(() => page.locator(`datalist#${'node-input-location-text-options'} option`).count(), 5_000);
      await page.screenshot({ path: screenshot('editor-openmrs-writer.png') });
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    });

    it('previews the mapper on a real forwarded form (screenshot)', async () => {
      await page.evaluate(() => (window as any).RED.workspaces.show('encounter-tab'));
      await page.locator('[id="encounter-map"] .red-ui-flow-node').dblclick();
      await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
      // First the sample is the source property (msg.payload: the forwarded form): rows reading other msg properties ($msg.case) stay empty.
      const sample = followUpForm('c0ffee00-0000-4000-8000-000000000001', 'b7c1d2e3-0000-4000-8000-000000000002', { visit_date: '2026-11-20', weight_kg: '61.5', temperature_c: '38.2', danger_signs: 'yes' });
      await page.locator('#chis-mapper-sample').fill(JSON.stringify(sample, null, 2));
      const output = page.locator('#chis-mapper-output');
      await eventually(async () => (await output.innerText()).includes('2026-11-20'), 10_000)
        .catch(async (error: Error) => assert.fail(`${error.message}; the preview shows: ${await output.innerText()} ${await page.locator('#chis-mapper-messages').innerText()}`));
      const preview = JSON.parse(await output.innerText()) as { encounterDatetime: string; obs: Array<{ value: unknown }> };
      assert.match(preview.encounterDatetime, /^2026-11-20/);
      assert.deepEqual(preview.obs.map((obs) => obs.value).slice(0, 2), [61.5, 38.2]);
      assert.equal(preview.obs.length, 3, 'one obs per mapped question');
      assert.match(await page.locator('#chis-mapper-messages').innerText(), /patient/, 'the rows reading $msg.case have no value yet');
      // The whole msg as the flow builds it: the form in msg.payload, the case and form id beside it.
      await page.locator('#chis-mapper-whole-msg').check();
      const msg = { payload: sample, case: { external_id: 'c0ffee00-0000-4000-8000-00000000000a' }, form: { id: 'b7c1d2e3-0000-4000-8000-000000000002' } };
      await page.locator('#chis-mapper-sample').fill(JSON.stringify(msg, null, 2));
      await eventually(async () => (await output.innerText()).includes('c0ffee00-0000-4000-8000-00000000000a'), 10_000)
        .catch(async (error: Error) => assert.fail(`${error.message}; the whole-msg preview shows: ${await output.innerText()} ${await page.locator('#chis-mapper-messages').innerText()}`));
      const whole = JSON.parse(await output.innerText()) as { patient: string; idempotencyKey: string; obs: unknown[] };
      assert.equal(whole.idempotencyKey, msg.form.id);
      assert.equal(whole.obs.length, 3);
      assert.equal(await page.locator('#chis-mapper-messages').innerText(), '', 'no row in error with the whole msg');
      await page.locator('#chis-mapper-output').scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshot('editor-mapper-preview.png') });
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      assert.deepEqual(problems, []);
    });

    it('draws every example flow on its own tab (screenshots)', async () => {
      await page.setViewportSize({ width: 2900, height: 1300 }); // the widest example is ~2400 px
      for (const file of listFlowFiles()) {
        const tab = readFlow(file).find((node) => node.type === 'tab');
        assert.ok(tab, `${file} has a tab`);
        await page.evaluate((id) => (window as any).RED.workspaces.show(id), tab.id);
        const drawn = await page.locator('#red-ui-workspace-chart .red-ui-flow-node-group').count();
        assert.ok(drawn > 0, `${file} draws nodes`);
        // Just the drawn flow, with a margin: the empty canvas around it says nothing.
        const clip = await page.evaluate(() => {
          const boxes = [...document.querySelectorAll('#red-ui-workspace-chart .red-ui-flow-node-group, #red-ui-workspace-chart .red-ui-flow-link')]
            .map((element) => element.getBoundingClientRect()).filter((box) => box.width > 0);
          const chart = (document.querySelector('#red-ui-workspace-chart') as HTMLElement).getBoundingClientRect();
          const left = Math.max(chart.left, Math.min(...boxes.map((box) => box.left)) - 30);
          const top = Math.max(chart.top, Math.min(...boxes.map((box) => box.top)) - 30);
          const right = Math.min(chart.right, Math.max(...boxes.map((box) => box.right)) + 30);
          const bottom = Math.min(chart.bottom, Math.max(...boxes.map((box) => box.bottom)) + 30);
          return { x: left, y: top, width: right - left, height: bottom - top };
        });
        await page.screenshot({ path: screenshot(`flow-${file.replace(/\.json$/, '')}.png`), clip });
      }
      await page.setViewportSize({ width: 1600, height: 1000 });
    });
  });

  it('renders help in French when the browser language is French', async function () {
    const frenchHelp = FRENCH_HELP_CANDIDATES.find((type) => {
      const built = pkg['node-red'].nodes[type];
      if (!built) return false;
      const source = path.join(PROJECT_ROOT, path.dirname(built).replace(/^dist\//, ''), 'locales', 'fr', `${path.basename(built, '.js')}.html`);
      return fs.existsSync(source);
    });
    if (!frenchHelp) {
      console.warn(`      skipped: no French help yet for any of ${FRENCH_HELP_CANDIDATES.join(', ')} (nodes/*/locales/fr/*.html)`);
      this.skip();
    }
    console.log(`      French help checked on ${frenchHelp}`);
    const french = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'fr-FR' });
    try {
      const frenchPage = await french.newPage();
      const frenchProblems: Problem[] = [];
      watch(frenchPage, frenchProblems);
      await openEditor(frenchPage);
      const english = await helpText(page, frenchHelp);
      const text = await helpText(frenchPage, frenchHelp);
      assert.notEqual(text, english, `${frenchHelp}: the help is not the English one`);
      assert.match(text, /\b(le|la|les|des|une|est|sont|avec|pour)\b/i, `${frenchHelp}: the help reads as French: ${text.slice(0, 200)}`);
      assert.deepEqual(frenchProblems, []);
    } finally {
      await french.close();
    }
  });
});

/** The help sidebar's text for a node type. */
async function helpText(page: Page, type: string): Promise<string> {
  await page.evaluate((nodeType) => (window as any).RED.sidebar.help.show(nodeType), type);
  const help = page.locator('.red-ui-sidebar-info .red-ui-help .red-ui-help:visible').first();
  await help.waitFor({ state: 'visible', timeout: 5_000 });
  return (await help.innerText()).trim();
}

/**
 * Opens the drop-down of every look-up input of the open dialog as a user would: focus with an
 * empty field (the whole list), else type a letter when the server only answers searches (concepts).
 * `settle` waits until the page's requests ended.
 */
async function fillLookups(page: Page, settle: () => Promise<string[]>): Promise<LookupResult[]> {
  const inputs = await page.locator('.red-ui-tray input[list]:visible').evaluateAll((elements) => elements.map((element) => element.id));
  const results: LookupResult[] = [];
  for (const id of inputs) {
    const input = page.locator(`[id="${id}"]`);
    const list = page.locator(`[id="${await input.getAttribute('list')}"] option`);
    // A typed input wraps the text box, so its note follows the wrapper.
    const note = page.locator(`[id="${id}"] ~ .chis-lookup-note, .red-ui-typedInput-container:has([id="${id}"]) ~ .chis-lookup-note`).first();
    await input.evaluate((element) => { (element as HTMLInputElement).value = ''; });
    await input.focus();
    await settle();
    if ((await list.count()) === 0 && !(await note.isVisible())) {
      await input.pressSequentially('a');
      await new Promise((resolve) => setTimeout(resolve, 400)); // the look-up's typing debounce
      await settle();
    }
    results.push({ input: id, options: await list.count(), note: (await note.isVisible()) ? (await note.innerText()).trim() : '' });
    await input.blur();
  }
  return results;
}

/** A forwarded follow-up visit form (HQ's form JSON), on the real upstream envelope when the samples are present. */
function followUpForm(caseId: string, formId: string, answers: Record<string, string>): Record<string, unknown> {
  const sample: Record<string, any> = samplesAvailable() ? sampleJson('commcare/forwarded-form-json.json') : { received_on: new Date().toISOString(), form: { meta: { userID: 'demo-user' } } };
  return {
    ...sample,
    id: formId,
    domain: 'demo',
    form: {
      '@xmlns': FOLLOWUP_XMLNS,
      '@name': 'Follow-up visit',
      '#type': 'data',
      ...answers,
      case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': new Date().toISOString(), '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
      meta: { ...(sample.form?.meta ?? {}), instanceID: formId },
    },
  };
}
