import { readFileSync } from "node:fs";

interface PackageInfo {
  readonly name: string;
  readonly version: string;
}

let cached: PackageInfo | undefined;

/** package.json of this install (works from src/ in a checkout and from dist/). */
export function readPackage(): PackageInfo {
  cached ??= JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as PackageInfo;
  return cached;
}
