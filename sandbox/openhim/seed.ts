/**
 * Seeded OpenHIM users and clients. The root user is the one a fresh OpenHIM core creates;
 * the demo client is what the example flows use to call channels through the router.
 */
export const ROOT_EMAIL = 'root@openhim.org';
export const ROOT_PASSWORD = 'openhim-password';
/** Salt of the root user's token passport, returned by GET /authenticate/root@openhim.org. */
export const ROOT_PASSWORD_SALT = 'd9bcb40e-ae65-478f-962e-5e5e5e7d0a01';
export const ROOT_USER_ID = '5d5a0e1c9a6c4a2b3c4d5e6f';

export const DEMO_CLIENT_ID = 'demo-client';
export const DEMO_CLIENT_PASSWORD = 'demo-client-password';
export const DEMO_CLIENT_ROLE = 'interop';
export const DEMO_CLIENT_OBJECT_ID = '5d5a0e1c9a6c4a2b3c4d5e70';
export const DEMO_CLIENT_SALT = '8a4d2d6c-3b7e-4c1f-9b1a-0e5f6a7b8c9d';

/** How far auth-ts may be from the server clock (core config api.authWindowSeconds). */
export const AUTH_WINDOW_SECONDS = 10;

/** Default router timeout of core (config router.timeout), used when a channel sets none. */
export const ROUTER_TIMEOUT_MS = 60_000;
