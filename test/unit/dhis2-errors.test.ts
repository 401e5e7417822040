import assert from 'node:assert/strict';
import { describeErrorReport, legacyErrors, summarizeDhis2Error, walkImportSummaries } from '../../nodes/dhis2/api/errors';
import { requireSamples, sampleJson } from '../support/samples';

describe('dhis2 answers', () => {
  describe('legacy ImportSummaries', () => {
    beforeEach(function () { requireSamples(this); });

    it('walks the nested summaries of the upstream TEI import answer', () => {
      const body = sampleJson('dhis2/legacy-tei-import-response-success.json');
      const nodes = walkImportSummaries(body);
      assert.deepEqual(nodes.map((node) => [node.kind, node.reference, node.status]), [
        ['trackedEntity', 'kCArjBkgA5M', 'SUCCESS'],
        ['enrollment', 'UjIps1Tvpns', 'SUCCESS'],
      ]);
      assert.equal(nodes[1].parent, 'kCArjBkgA5M');
      assert.ok(nodes[0].updated && !nodes[0].imported);
      assert.ok(nodes[1].imported);
      assert.deepEqual(legacyErrors(body), []);
    });

    it('finds an ERROR nested under an HTTP 200 "Import was successful."', () => {
      const body = sampleJson('dhis2/legacy-tei-import-response-success.json');
      const enrollment = body.response.enrollments.importSummaries[0];
      enrollment.events = {
        responseType: 'ImportSummaries', status: 'ERROR', imported: 0, updated: 0, deleted: 0, ignored: 1, total: 1,
        importSummaries: [{
          responseType: 'ImportSummary', status: 'ERROR', reference: 'Zq2dg6pTNoj', description: 'Event validation failed',
          importCount: { imported: 0, updated: 0, ignored: 1, deleted: 0 },
          conflicts: [{ object: 'UXz7xuGCEhU', value: 'value_not_numeric' }],
        }],
      };
      assert.equal(body.httpStatusCode, 200);
      const errors = legacyErrors(body);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].kind, 'event');
      assert.equal(errors[0].parent, 'UjIps1Tvpns');
      assert.equal(summarizeDhis2Error(200, body), 'event Zq2dg6pTNoj: Event validation failed; UXz7xuGCEhU: value_not_numeric');
    });
  });

  it('summarises tracker ImportReports with their E-codes', function () {
    requireSamples(this);
    const fragment = sampleJson('dhis2/tracker-import-report-error-fragment.json');
    assert.equal(describeErrorReport(fragment.validationReport.errorReports[0]), 'E1005 (TRACKED_ENTITY Kj6vYde4LHh): Could not find TrackedEntityType: `Q9GufDoplCL`.');
    assert.equal(summarizeDhis2Error(409, { status: 'ERROR', ...fragment }), 'E1005 (TRACKED_ENTITY Kj6vYde4LHh): Could not find TrackedEntityType: `Q9GufDoplCL`.');
    const many = { status: 'ERROR', validationReport: { errorReports: Array.from({ length: 5 }, (_, i) => ({ errorCode: 'E1018', trackerType: 'ENROLLMENT', uid: `Abcdefghij${i}`, message: 'Attribute is mandatory' })) } };
    assert.match(summarizeDhis2Error(409, many)!, /and 2 more$/);
  });

  it('summarises dataValueSets conflicts and plain WebMessages', () => {
    const conflict = {
      httpStatus: 'Conflict', httpStatusCode: 409, status: 'WARNING', message: 'One more conflicts encountered, please check import summary.',
      response: {
        responseType: 'ImportSummary', status: 'WARNING', importCount: { imported: 1, updated: 0, ignored: 1, deleted: 0 },
        conflicts: [{ object: 'x', objects: { dataElement: 'f7n9E0hX8qk' }, value: 'Data element not found or not accessible', errorCode: 'E7610', property: 'dataElement', indexes: [1] }],
      },
    };
    assert.equal(summarizeDhis2Error(409, conflict), 'E7610 (dataElement) Data element not found or not accessible');
    assert.equal(summarizeDhis2Error(404, { httpStatus: 'Not Found', httpStatusCode: 404, status: 'ERROR', message: 'Program with id x could not be found.' }), 'Program with id x could not be found.');
    assert.equal(summarizeDhis2Error(500, 'oops'), undefined);
  });
});
