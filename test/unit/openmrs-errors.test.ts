import assert from 'node:assert/strict';
import { summarizeOpenmrsError } from '../../nodes/openmrs/api/errors';

describe('openmrs error summaries', () => {
  it('reads REST validation errors: message, global errors, field errors', () => {
    const body = {
      error: {
        message: '[Invalid Submission]',
        code: 'webservices.rest.error.invalid.submission',
        globalErrors: [{ code: 'Patient.duplicate', message: 'Patient identifier already in use' }],
        fieldErrors: {
          gender: [{ code: 'error.null', message: 'Cannot be empty or null' }],
          'names[0].familyName': [{ code: 'error.null', message: 'Cannot be empty or null' }],
        },
      },
    };
    assert.equal(
      summarizeOpenmrsError(400, body),
      'Invalid Submission: Patient identifier already in use; gender: Cannot be empty or null; names[0].familyName: Cannot be empty or null',
    );
  });

  it('reads other REST errors', () => {
    assert.equal(summarizeOpenmrsError(404, { error: { message: "[Object with given uuid doesn't exist]", code: 'x', detail: '' } }), "Object with given uuid doesn't exist");
  });

  it('reads FHIR OperationOutcomes', () => {
    const outcome = {
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'processing', diagnostics: 'Invalid subject reference', expression: ['Encounter.subject'] },
        { severity: 'error', code: 'required', details: { text: 'type is required' } },
      ],
    };
    assert.equal(summarizeOpenmrsError(422, outcome), 'Encounter.subject: Invalid subject reference; type is required');
  });

  it('falls back to the text of other bodies', () => {
    assert.equal(summarizeOpenmrsError(500, 'org.ict4h.atomfeed.server.exceptions.AtomFeedRuntimeException: feed does not exist'), 'org.ict4h.atomfeed.server.exceptions.AtomFeedRuntimeException: feed does not exist');
    assert.equal(summarizeOpenmrsError(500, undefined), undefined);
  });
});
