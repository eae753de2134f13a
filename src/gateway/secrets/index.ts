export { ARGUMENT_MASK, redactArgumentValues } from "./arguments.ts";
export { capturingSecrets } from "./capture.ts";
export { headerSecrets, SECRET_MASK, SecretRedactor } from "./redactor.ts";
export { scanForSecrets, type ScanFinding, type SecretScanMode } from "../../secrets/index.ts";
