/**
 * Node's `_http_common` has no type declarations (it is undocumented). Every
 * member is `unknown`, so the one user (upstream-connection.ts) states the
 * shape it relies on where it uses it.
 */
declare module '_http_common' {
  export const HTTPParser: {
    new (): unknown;
    readonly [key: string]: unknown;
  };
}
