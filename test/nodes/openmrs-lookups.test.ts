import assert from 'node:assert/strict';
import openmrsConfig from '../../nodes/openmrs/openmrs-config';
import { helper, loadFlow } from '../support/node-helper';
import { useOpenmrsSandbox } from '../support/openmrs-sandbox';

const WEIGHT = '5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('chis-openmrs-config look-ups (against the OpenMRS sandbox)', function () {
  this.timeout(20_000);
  const openmrs = useOpenmrsSandbox();

  beforeEach(() => loadFlow([openmrsConfig], [openmrs.config()], openmrs.credentials));

  it('concepts: an empty search lists the first page, so the drop-down is never empty on open', async () => {
    for (const path of ['concepts', 'concepts?q=', 'concepts?q=%20']) {
      const { body } = await helper.request().get(`/chis/lookup/chis-openmrs-config/server/${path}`).expect(200);
      assert.ok(body.length >= 10 && body.length <= 50, `${path}: ${body.length} options`);
      assert.ok(body.some((option: { value: string; label: string }) => option.value === WEIGHT && /weight/i.test(option.label)), path);
      assert.equal(new Set(body.map((option: { value: string }) => option.value)).size, body.length, `${path}: duplicates`);
    }
  });

  it('concepts: a search still narrows the list', async () => {
    const all = await helper.request().get('/chis/lookup/chis-openmrs-config/server/concepts').expect(200);
    const { body } = await helper.request().get('/chis/lookup/chis-openmrs-config/server/concepts?q=weight').expect(200);
    assert.ok(body.length >= 1 && body.length < all.body.length);
    assert.ok(body.every((option: { label: string }) => /weight/i.test(option.label)));
  });
});
