// Kubernetes API objects decoded into the shapes the counting rules take
// (src/metrics/kube_rules.ts): only the fields those rules read, each checked
// for its JSON type, so a malformed answer is a ShapeError naming the field,
// never a wrong count.

import type {
  PodSpecLite,
  ServerConfigLite,
  ServerLite,
} from "../metrics/kube_rules.ts";

type Obj = Record<string, unknown>;

export class ShapeError extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function objectAt(v: unknown, where: string, optional = true): Obj {
  if (v === undefined || v === null) {
    if (optional) return {};
    throw new ShapeError(`${where} is missing`);
  }
  if (!isObj(v)) throw new ShapeError(`${where} is not an object`);
  return v;
}

function stringAt(v: unknown, where: string): string {
  if (typeof v !== "string" || v === "") {
    throw new ShapeError(`${where} is not a non-empty string`);
  }
  return v;
}

function optionalStringAt(v: unknown, where: string): string | undefined {
  return v === undefined || v === null ? undefined : stringAt(v, where);
}

/** The items of a Kubernetes list response, or a ShapeError naming what is wrong. */
export function listItems(body: unknown, what: string): unknown[] {
  const list = objectAt(body, `${what} response`, false);
  if (!Array.isArray(list.items)) {
    throw new ShapeError(`${what} response has no "items" list`);
  }
  return list.items;
}

/** The `metadata.continue` token of a list response, when more pages follow. */
export function continueToken(body: unknown, what: string): string | undefined {
  const meta = objectAt(
    objectAt(body, `${what} response`, false).metadata,
    `${what} response metadata`,
  );
  const token = meta.continue;
  if (token === undefined || token === null || token === "") return undefined;
  if (typeof token !== "string") {
    throw new ShapeError(`${what} response metadata.continue is not a string`);
  }
  return token;
}

/** The namespace of a namespaced list item (e.g. a SeldonRuntime). */
export function itemNamespace(item: unknown, where: string): string {
  const meta = objectAt(
    objectAt(item, where, false).metadata,
    `${where}.metadata`,
    false,
  );
  return stringAt(meta.namespace, `${where}.metadata.namespace`);
}

export function readPodSpec(v: unknown, where: string): PodSpecLite {
  const spec = objectAt(v, where);
  if (spec.containers === undefined || spec.containers === null) {
    return { containers: [] };
  }
  if (!Array.isArray(spec.containers)) {
    throw new ShapeError(`${where}.containers is not a list`);
  }
  return {
    containers: spec.containers.map((c, i) => {
      const at = `${where}.containers[${i}]`;
      const container = objectAt(c, at, false);
      const resources = objectAt(container.resources, `${at}.resources`);
      return {
        name: stringAt(container.name, `${at}.name`),
        image: optionalStringAt(container.image, `${at}.image`),
        limits: objectAt(resources.limits, `${at}.resources.limits`),
        requests: objectAt(resources.requests, `${at}.resources.requests`),
      };
    }),
  };
}

function readMeta(item: unknown, where: string) {
  const obj = objectAt(item, where, false);
  const meta = objectAt(obj.metadata, `${where}.metadata`, false);
  return {
    obj,
    namespace: stringAt(meta.namespace, `${where}.metadata.namespace`),
    name: stringAt(meta.name, `${where}.metadata.name`),
    spec: objectAt(obj.spec, `${where}.spec`),
  };
}

export function readServerConfig(
  item: unknown,
  where: string,
): ServerConfigLite {
  const { namespace, name, spec } = readMeta(item, where);
  return {
    namespace,
    name,
    podSpec: readPodSpec(spec.podSpec, `${where}.spec.podSpec`),
  };
}

export function readServer(item: unknown, where: string): ServerLite {
  const { namespace, name, spec } = readMeta(item, where);
  return {
    namespace,
    name,
    serverConfig: optionalStringAt(
      spec.serverConfig,
      `${where}.spec.serverConfig`,
    ),
    replicas: spec.replicas,
    podSpec: readPodSpec(spec.podSpec, `${where}.spec.podSpec`),
  };
}
