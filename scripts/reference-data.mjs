// Reference data the Worker carries, cut from the packages that maintain it to what the Worker reads:
//   src/lib/phone-metadata.json    libphonenumber-js's "min" metadata without what only formatting reads
//   src/lib/currency-digits.json   each ISO 4217 currency's minor units, from currency-codes
//   npm run reference-data              writes them from the installed packages
//   npm run reference-data -- --check   fails when they are not what the installed versions make
import { createRequire } from "node:module";
import { writeGenerated } from "./generated-file.mjs";

const require = createRequire(import.meta.url);

/**
 * Contacts are parsed, checked for length and placed in a country, never formatted: each country's formats
 * (two thirds of the metadata) are left out. Indices are those of the metadata's compressed form (version 4).
 */
function phoneMetadata() {
  const metadata = structuredClone(require("libphonenumber-js/metadata.min.json"));
  if (metadata.version !== 4) throw new Error(`Unknown metadata version ${metadata.version}; see the indices`);
  const FORMATS = 4;
  const NATIONAL_PREFIX_FORMATTING_RULE = 6;
  const NATIONAL_PREFIX_OPTIONAL_WHEN_FORMATTING = 9;
  for (const plan of [...Object.values(metadata.countries), ...Object.values(metadata.nonGeographic ?? {})]) {
    for (const index of [FORMATS, NATIONAL_PREFIX_FORMATTING_RULE, NATIONAL_PREFIX_OPTIONAL_WHEN_FORMATTING]) {
      if (index < plan.length) plan[index] = 0;
    }
  }
  return metadata;
}

/** Code → minor units (2 for EUR, 0 for JPY, 3 for BHD); the names and countries are not needed. */
function currencyDigits() {
  const { data } = require("currency-codes");
  return Object.fromEntries(
    data.filter((entry) => Number.isInteger(entry.digits)).map((entry) => [entry.code, entry.digits]),
  );
}

const files = {
  "src/lib/phone-metadata.json": phoneMetadata(),
  "src/lib/currency-digits.json": currencyDigits(),
};

for (const [path, data] of Object.entries(files)) {
  writeGenerated(path, `${JSON.stringify(data)}\n`, {
    from: "the installed libphonenumber-js and currency-codes",
    command: "npm run reference-data",
  });
}
