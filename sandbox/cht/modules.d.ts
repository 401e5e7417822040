// The PouchDB packages ship without type declarations; couch.ts gives them the narrow types it uses.
declare module 'pouchdb-core';
declare module 'pouchdb-adapter-memory';
declare module 'pouchdb-mapreduce';
declare module 'express-pouchdb';
