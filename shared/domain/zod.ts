/**
 * zod for this codebase: the tree-shakable `zod/mini` build (a full `zod` import adds ~75 KiB to every
 * Lambda bundle, past the 250 KiB budget), configured once with English messages, which the mini build
 * does not load by itself. Import it as `import * as z from "<path>/domain/zod.ts"`.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
