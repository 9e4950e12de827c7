/** GraphQL documents are bundled as text (esbuild's text loader) and validated against the schema by the build. */
declare module "*.graphql" {
  const document: string;
  export default document;
}
