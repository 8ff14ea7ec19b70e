// Vite's `?raw` imports (a file's exact text), used for byte-exact signed fixtures.
declare module '*?raw' {
  const text: string;
  export default text;
}
