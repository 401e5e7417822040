/**
 * Error bodies as webservices.rest's RestUtil writes them: validation failures carry globalErrors
 * and fieldErrors; everything else a message in brackets, a code and an (empty) detail.
 */
import type { SandboxResponse } from '../core';

export interface ErrorEntry {
  code: string;
  message: string;
}

/** Thrown by the write paths; the REST and FHIR routes turn it into their own error format. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly globalErrors?: ErrorEntry[],
    readonly fieldErrors?: Record<string, ErrorEntry[]>,
  ) {
    super(message);
  }

  get body(): unknown {
    if (this.fieldErrors || this.globalErrors) {
      return {
        error: {
          message: `[${this.message}]`,
          code: this.code,
          globalErrors: this.globalErrors ?? [],
          fieldErrors: this.fieldErrors ?? {},
        },
      };
    }
    return { error: { message: `[${this.message}]`, code: this.code, detail: '' } };
  }

  /** One line for FHIR OperationOutcome diagnostics. */
  get summary(): string {
    const parts = [...(this.globalErrors ?? []).map((entry) => entry.message)];
    for (const [field, entries] of Object.entries(this.fieldErrors ?? {})) parts.push(...entries.map((entry) => `${field}: ${entry.message}`));
    return parts.length ? parts.join('; ') : this.message;
  }
}

/** Collects field and global errors while a submission is checked, then throws them together. */
export class Violations {
  private readonly fields: Record<string, ErrorEntry[]> = {};
  private readonly globals: ErrorEntry[] = [];

  field(field: string, code: string, message: string): void {
    (this.fields[field] ??= []).push({ code, message });
  }

  missing(field: string): void {
    this.field(field, 'error.null', 'Cannot be empty or null');
  }

  global(code: string, message: string): void {
    this.globals.push({ code, message });
  }

  get empty(): boolean {
    return this.globals.length === 0 && Object.keys(this.fields).length === 0;
  }

  throwIfAny(): void {
    if (!this.empty) throw invalidSubmission(this.globals, this.fields);
  }
}

export function invalidSubmission(globalErrors: ErrorEntry[], fieldErrors: Record<string, ErrorEntry[]>): RestError {
  return new RestError(400, 'Invalid Submission', 'webservices.rest.error.invalid.submission', globalErrors, fieldErrors);
}

export function notFound(): RestError {
  return new RestError(404, "Object with given uuid doesn't exist", 'org.openmrs.module.webservices.rest.web.response.ObjectNotFoundException');
}

export function badRequest(message: string, code = 'org.openmrs.module.webservices.rest.web.response.ConversionException'): RestError {
  return new RestError(400, message, code);
}

export function unsupported(): RestError {
  return new RestError(400, 'Resource does not support this operation', 'org.openmrs.module.webservices.rest.web.response.ResourceDoesNotSupportOperationException');
}

export function restErrorResponse(error: RestError): SandboxResponse {
  return { status: error.status, body: error.body };
}
