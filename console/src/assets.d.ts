// Stylesheets imported for their side effect: esbuild bundles them into console/app.css.
declare module '*.css';
