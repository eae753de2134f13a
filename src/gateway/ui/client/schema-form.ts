/**
 * A form generated from a tool's JSON Schema: strings, numbers, integers,
 * booleans, enums, arrays (add/remove items), nested objects, required
 * fields. What it cannot express (anyOf, oneOf, $ref, untyped) becomes a JSON
 * text field for that value; the whole form also has a raw-JSON mode.
 */
import { h } from "./dom.ts";

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
}

export interface Field {
  readonly element: HTMLElement;
  /** The value, or undefined when left empty. Throws with a message naming the field when invalid. */
  read(): unknown;
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null");
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  if (schema.enum) return "enum";
  return undefined;
}

function fieldId(path: string): string {
  return `f-${path.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
}

function labelFor(path: string, name: string, schema: JsonSchema, required: boolean): HTMLElement {
  return h(
    "label",
    { for: fieldId(path) },
    schema.title ?? name,
    required ? h("span", { class: "required", title: "required" }, " *") : null,
    schema.description ? h("small", { class: "help" }, ` ${schema.description}`) : null,
  );
}

function enumField(path: string, schema: JsonSchema, required: boolean): Field {
  const options = schema.enum ?? [];
  const select = h(
    "select",
    { id: fieldId(path), name: path, required },
    required ? null : h("option", { value: "" }, "—"),
    options.map((v, i) => h("option", { value: String(i), selected: schema.default === v }, String(v))),
  );
  return {
    element: select,
    read: () => (select.value === "" ? undefined : options[Number(select.value)]),
  };
}

function scalarField(path: string, schema: JsonSchema, type: string, required: boolean): Field {
  if (type === "boolean") {
    const box = h("input", {
      type: "checkbox",
      id: fieldId(path),
      name: path,
      checked: schema.default === true,
    });
    return { element: box, read: () => box.checked };
  }
  const numeric = type === "number" || type === "integer";
  const input = h("input", {
    id: fieldId(path),
    name: path,
    type: numeric ? "number" : "text",
    step: type === "integer" ? 1 : numeric ? "any" : undefined,
    min: schema.minimum,
    max: schema.maximum,
    required,
    value:
      typeof schema.default === "string" || typeof schema.default === "number"
        ? String(schema.default)
        : undefined,
  });
  return {
    element: input,
    read: () => {
      if (input.value === "") return undefined;
      if (!numeric) return input.value;
      const n = Number(input.value);
      if (!Number.isFinite(n) || (type === "integer" && !Number.isInteger(n)))
        throw new Error(`${path}: must be ${type === "integer" ? "an integer" : "a number"}`);
      return n;
    },
  };
}

function jsonField(path: string, required: boolean): Field {
  const area = h("textarea", {
    id: fieldId(path),
    name: path,
    rows: 3,
    class: "json",
    placeholder: "JSON value",
    required,
  });
  return {
    element: area,
    read: () => {
      if (area.value.trim() === "") return undefined;
      try {
        return JSON.parse(area.value) as unknown;
      } catch {
        throw new Error(`${path}: not valid JSON`);
      }
    },
  };
}

function arrayField(path: string, schema: JsonSchema): Field {
  const items: Field[] = [];
  const list = h("ol", { class: "array-items" });
  const add = h(
    "button",
    {
      type: "button",
      class: "add-item",
      "data-path": path,
      onclick: () => {
        const field = buildField(`${path}.${items.length}`, schema.items ?? {}, true);
        items.push(field);
        const row = h("li", {}, field.element);
        row.append(
          h(
            "button",
            {
              type: "button",
              class: "remove-item",
              onclick: () => {
                items.splice(items.indexOf(field), 1);
                row.remove();
              },
            },
            "Remove",
          ),
        );
        list.append(row);
      },
    },
    "Add item",
  );
  return {
    element: h("div", { class: "array", id: fieldId(path) }, list, add),
    read: () => {
      const values = items.map((f) => f.read()).filter((v) => v !== undefined);
      return values.length > 0 ? values : undefined;
    },
  };
}

function objectField(path: string, schema: JsonSchema): Field {
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {}).map(([name, prop]) => {
    const childPath = path ? `${path}.${name}` : name;
    const field = buildField(childPath, prop, required.has(name));
    return {
      name,
      field,
      row: h("div", { class: "field" }, labelFor(childPath, name, prop, required.has(name)), field.element),
    };
  });
  const element = path
    ? h(
        "fieldset",
        { id: fieldId(path) },
        fields.map((f) => f.row),
      )
    : h(
        "div",
        { class: "fields" },
        fields.map((f) => f.row),
      );
  return {
    element,
    read: () => {
      const out: Record<string, unknown> = {};
      for (const { name, field } of fields) {
        const value = field.read();
        const childPath = path ? `${path}.${name}` : name;
        if (value === undefined && required.has(name)) throw new Error(`${childPath}: required`);
        if (value !== undefined) out[name] = value;
      }
      return path && Object.keys(out).length === 0 ? undefined : out;
    },
  };
}

export function buildField(path: string, schema: JsonSchema, required: boolean): Field {
  if (schema.enum) return enumField(path, schema, required);
  const type = typeOf(schema);
  if (type === "object") return objectField(path, schema);
  if (type === "array") return arrayField(path, schema);
  if (type === "string" || type === "number" || type === "integer" || type === "boolean")
    return scalarField(path, schema, type, required);
  return jsonField(path, required);
}

/** The form of a tool's input schema (an object schema). */
export function schemaForm(schema: JsonSchema): Field {
  return objectField("", { ...schema, type: "object" });
}
