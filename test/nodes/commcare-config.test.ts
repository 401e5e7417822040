import assert from 'node:assert/strict';
import { create } from '../../sandbox/commcare';
import * as seed from '../../sandbox/commcare/seed';
import commcareConfig from '../../nodes/commcare/commcare-config';
import { helper, loadFlow, unloadFlow } from '../support/node-helper';

type Sandbox = ReturnType<typeof create>;

describe('chis-commcare-config node: look-ups and connection test', function () {
  this.timeout(15_000);
  let app: Sandbox;
  let base: string;

  before(async () => {
    app = create();
    base = `http://127.0.0.1:${await app.listen(0)}`;
  });
  after(() => app.close());
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await unloadFlow();
    await helper.stopServer();
  });

  const load = (apiKey = seed.WEB_USER.apiKey) => loadFlow(
    [commcareConfig],
    [{ id: 'server', type: 'chis-commcare-config', baseUrl: base, domain: seed.DOMAIN }],
    { server: { username: seed.WEB_USER.username, apiKey } },
  );
  const lookup = (list: string, query = '') => helper.request().get(`/chis/lookup/chis-commcare-config/server/${list}${query}`);

  it('lists case types, owners, applications and forms with their xmlns', async () => {
    await load();
    assert.deepEqual((await lookup('casetypes')).body.map((option: { value: string }) => option.value), ['patient', 'referral']);
    const owners = (await lookup('owners')).body as Array<{ value: string; label: string }>;
    assert.ok(owners.some((option) => option.value === seed.KIMIRONKO_LOCATION_ID && /Kimironko Village \(location/.test(option.label)));
    assert.ok(owners.some((option) => option.value === seed.CHW_AMINA_ID && /Amina Uwase \(mobile worker\)/.test(option.label)));
    assert.deepEqual((await lookup('applications')).body, [{ value: seed.APP_ID, label: seed.APP_NAME }]);
    const forms = (await lookup('forms', '?q=visit')).body as Array<{ value: string; label: string }>;
    assert.deepEqual(forms.map((option) => option.value), [seed.XMLNS.trackerVisit]);
    assert.equal(forms[0].label, 'CHIS demo › Patients › Tracker Visit');
  });

  it('tests the connection, and reports a wrong key without showing it', async () => {
    await load();
    const ok = await lookup('test');
    assert.equal(ok.status, 200);
    assert.match(ok.body[0].label, /Connected to project space "demo" \(4 cases\)/);
    await unloadFlow();
    await load('not-the-key');
    const denied = await lookup('test');
    assert.equal(denied.status, 502);
    assert.equal(denied.body.code, 'auth');
    assert.equal(JSON.stringify(denied.body).includes('not-the-key'), false);
  });
});
