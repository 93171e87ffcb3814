/**
 * Node's `_http_common` has no type declarations (it is undocumented). Every
 * member is `unknown`, so each user (upstream-connection.ts,
 * client-connection.ts) states the shape it relies on where it uses it.
 */
declare module '_http_common' {
  export const HTTPParser: {
    new (): unknown;
    readonly [key: string]: unknown;
  };
  /** Method names by the parser's method index (kOnHeadersComplete's 4th argument). */
  export const methods: unknown;
}
