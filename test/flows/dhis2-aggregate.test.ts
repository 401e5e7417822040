/**
 * The monthly aggregate report in a started Node-RED against the sandboxes: forwarded visit
 * forms and polled referral cases of two CommCare locations are counted per DHIS2 org unit and
 * month; "send now" stores the totals in the data set, and sending again never adds them twice.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as commcareSeed from '../../sandbox/commcare/seed';
import * as dhis2Seed from '../../sandbox/dhis2/seed';
import { eventually, startHarness, type FlowHarness } from '../support/flow-harness';
import { requireSamples, sampleJson } from '../support/samples';
import { nodeRedVersion } from '../support/runtime-env';

const DHIS2_AUTH = { Authorization: `Basic ${Buffer.from(`${dhis2Seed.ADMIN_USERNAME}:${dhis2Seed.ADMIN_PASSWORD}`).toString('base64')}` };
const COMMCARE_AUTH = { Authorization: `ApiKey ${commcareSeed.WEB_USER.username}:${commcareSeed.WEB_USER.apiKey}` };
const RECEIVER_AUTH = { Authorization: `Basic ${Buffer.from('demo:demo-secret').toString('base64')}` };

/** The month before the current one (the aggregator only sends months that have ended). */
function lastMonth(): { period: string; day: (day: number) => string } {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const month = `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
  return { period: month.replace('-', ''), day: (day) => `${month}-${String(day).padStart(2, '0')}` };
}

describe(`CommCare -> DHIS2 monthly aggregate flow in a started Node-RED ${nodeRedVersion()}`, function () {
  this.timeout(120_000);
  let harness: FlowHarness;
  const month = lastMonth();
  const NGELEHUN = dhis2Seed.ORG_UNIT_NGELEHUN_CHC;
  const GBENIKORO = dhis2Seed.ORG_UNIT_GBENIKORO_MCHP;

  /** Data values of the monthly data set for one org unit, by data element. */
  const storedValues = async (orgUnit: string): Promise<Record<string, number>> => {
    const url = `${harness.sandboxUrl('dhis2')}/api/dataValueSets?dataSet=${dhis2Seed.DATA_SET_COMMUNITY_MONTHLY}&period=${month.period}&orgUnit=${orgUnit}`;
    const body = (await (await fetch(url, { headers: DHIS2_AUTH })).json()) as { dataValues: Array<{ dataElement: string; value: string }> };
    return Object.fromEntries(body.dataValues.map((value) => [value.dataElement, Number(value.value)]));
  };
  const dataValueImports = async (): Promise<number> =>
    ((await (await fetch(`${harness.sandboxUrl('dhis2')}/_sandbox/requests?method=POST&path=^/api/dataValueSets$`)).json()) as unknown[]).length;
  const press = async (injectId: string): Promise<void> => {
    const response = await fetch(`${harness.runtime.url}/inject/${injectId}`, { method: 'POST' });
    assert.equal(response.status, 200, `inject ${injectId}`);
  };

  /** A forwarded follow-up form (HQ's form JSON), built on the real upstream sample's envelope. */
  function followUpForm(caseId: string, answers: Record<string, string>, formId = randomUUID()): Record<string, unknown> {
    const sample = sampleJson<Record<string, any>>('commcare/forwarded-form-json.json');
    return {
      ...sample,
      id: formId,
      domain: 'demo',
      form: {
        '@xmlns': commcareSeed.XMLNS.followup,
        '@name': 'Follow-up visit',
        '#type': 'data',
        ...answers,
        case: { '@case_id': caseId, '@xmlns': 'http://commcarehq.org/case/transaction/v2', '@date_modified': new Date().toISOString(), '@user_id': sample.form?.meta?.userID ?? 'demo-user', update: {} },
        meta: { ...(sample.form?.meta ?? {}), instanceID: formId },
      },
    };
  }
  const postForm = (form: unknown) => fetch(`${harness.runtime.url}/commcare/monthly`, {
    method: 'POST',
    headers: { ...RECEIVER_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(form),
  });
  /** The receiver's route exists once an anonymous request is refused rather than not found. */
  const receiverListening = () => eventually(async () => (await fetch(`${harness.runtime.url}/commcare/monthly`, { method: 'POST' })).status === 401, 10_000);
  const createCase = async (body: Record<string, unknown>): Promise<string> => {
    const response = await fetch(`${harness.sandboxUrl('commcare')}/a/${commcareSeed.DOMAIN}/api/case/v2/`, {
      method: 'POST',
      headers: { ...COMMCARE_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, await response.clone().text());
    return ((await response.json()) as { case: { case_id: string } }).case.case_id;
  };
  const referral = (ownerId: string, referralDate: string) => createCase({
    case_type: commcareSeed.CASE_TYPES.referral, case_name: 'Referral', owner_id: ownerId, properties: { reason: 'danger_signs', referral_date: referralDate },
  });

  const firstForm = followUpForm(commcareSeed.PATIENT_MUKAMANA_ID, { visit_date: month.day(3), danger_signs: 'yes' });

  before(async function () {
    requireSamples(this);
    harness = await startHarness({ name: 'dhis2-aggregate', systems: ['dhis2', 'commcare'] });
    await harness.deployExamples('dhis2-aggregate-monthly.json');
    await receiverListening();
  });

  after(async () => {
    await harness?.stop();
  });

  it('counts forwarded visit forms and answers CommCare once each form is counted', async () => {
    const forms = [
      firstForm,
      followUpForm(commcareSeed.PATIENT_MUKAMANA_ID, { visit_date: month.day(10), danger_signs: 'yes' }),
      followUpForm(commcareSeed.PATIENT_UWIMANA_ID, { visit_date: month.day(12), danger_signs: 'no' }),
      followUpForm(commcareSeed.PATIENT_INGABIRE_ID, { visit_date: month.day(20), danger_signs: 'no' }),
      followUpForm(commcareSeed.PATIENT_INGABIRE_ID, { visit_date: month.day(28) }),
    ];
    for (const form of forms) {
      const response = await postForm(form);
      assert.equal(response.status, 200, await response.text());
    }
    const again = await postForm(firstForm);
    assert.equal(((await again.json()) as { status: string }).status, 'duplicate', 'a re-delivered form is not counted twice');
  });

  it('answers a form whose CommCare location has no DHIS2 org unit 422, instead of losing it silently', async () => {
    const unmapped = await createCase({ case_type: commcareSeed.CASE_TYPES.patient, case_name: 'District-level case', owner_id: commcareSeed.DISTRICT_LOCATION_ID, properties: {} });
    const response = await postForm(followUpForm(unmapped, { visit_date: month.day(5), danger_signs: 'yes' }));
    assert.equal(response.status, 422);
    assert.equal(((await response.json()) as { code: string }).code, 'bad-input');
  });

  it('sends last month\'s totals per org unit on "send now", referral cases included', async () => {
    await referral(commcareSeed.KIMIRONKO_LOCATION_ID, month.day(4));
    await referral(commcareSeed.KIMIRONKO_LOCATION_ID, month.day(21));
    await referral(commcareSeed.REMERA_LOCATION_ID, month.day(9));
    await press('dhis2-aggregate-poll');
    const expected = {
      [NGELEHUN]: { [dhis2Seed.DATA_ELEMENT_HOME_VISITS]: 3, [dhis2Seed.DATA_ELEMENT_DANGER_SIGNS_SEEN]: 2, [dhis2Seed.DATA_ELEMENT_REFERRALS]: 2 },
      [GBENIKORO]: { [dhis2Seed.DATA_ELEMENT_HOME_VISITS]: 2, [dhis2Seed.DATA_ELEMENT_REFERRALS]: 1 },
    };
    // The referral poll runs in the background; each send carries full totals, so sending until they arrive is harmless.
    await eventually(async () => {
      await press('dhis2-aggregate-send-now');
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [orgUnit, values] of Object.entries(expected)) assert.deepEqual(await storedValues(orgUnit), values);
      return true;
    }, 20_000, 200);
  });

  it('does not double the counts when the month is sent again, and replaces them when a late form arrives', async () => {
    const importsBefore = await dataValueImports();
    await press('dhis2-aggregate-send-now');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await dataValueImports(), importsBefore, 'nothing changed, nothing sent');
    assert.equal((await storedValues(NGELEHUN))[dhis2Seed.DATA_ELEMENT_HOME_VISITS], 3);

    const late = await postForm(followUpForm(commcareSeed.PATIENT_UWIMANA_ID, { visit_date: month.day(27), danger_signs: 'no' }));
    assert.equal(late.status, 200);
    await press('dhis2-aggregate-send-now');
    await eventually(async () => (await storedValues(NGELEHUN))[dhis2Seed.DATA_ELEMENT_HOME_VISITS] === 4, 10_000);
    assert.deepEqual(await storedValues(NGELEHUN), {
      [dhis2Seed.DATA_ELEMENT_HOME_VISITS]: 4, [dhis2Seed.DATA_ELEMENT_DANGER_SIGNS_SEEN]: 2, [dhis2Seed.DATA_ELEMENT_REFERRALS]: 2,
    }, 'the new total replaces the old one');
    assert.equal((await storedValues(GBENIKORO))[dhis2Seed.DATA_ELEMENT_HOME_VISITS], 2, 'an unchanged org unit keeps its value');
  });

  it('keeps the month\'s tallies across a crash of Node-RED', async () => {
    await harness.restart({ crash: true });
    await receiverListening();
    await press('dhis2-aggregate-send-now');
    await postForm(followUpForm(commcareSeed.PATIENT_INGABIRE_ID, { visit_date: month.day(2), danger_signs: 'yes' }));
    await press('dhis2-aggregate-send-now');
    await eventually(async () => (await storedValues(GBENIKORO))[dhis2Seed.DATA_ELEMENT_HOME_VISITS] === 3, 10_000);
    assert.deepEqual(await storedValues(GBENIKORO), {
      [dhis2Seed.DATA_ELEMENT_HOME_VISITS]: 3, [dhis2Seed.DATA_ELEMENT_DANGER_SIGNS_SEEN]: 1, [dhis2Seed.DATA_ELEMENT_REFERRALS]: 1,
    });
  });
});
