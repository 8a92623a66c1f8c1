// Kubernetes API objects decoded into the shapes the counting rules take
// (src/metrics/kube_rules.ts): only the fields those rules read (picks.ts
// names them, json_pick.ts keeps them), each checked for its JSON type, so a
// malformed answer is a ShapeError naming the field, never a wrong count.

import type {
  PodSpecLite,
  ServerConfigLite,
  ServerLite,
} from "../metrics/kube_rules.ts";
import { Overlong } from "./json_pick.ts";

type Obj = Record<string, unknown>;

/** An answer whose JSON is not shaped as the rules need, naming the field. */
export class ShapeError extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    !(v instanceof Overlong);
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
  if (v instanceof Overlong) {
    throw new ShapeError(
      `${where} is ${v.toJSON()}, longer than any it can be`,
    );
  }
  if (typeof v !== "string" || v === "") {
    throw new ShapeError(`${where} is not a non-empty string`);
  }
  return v;
}

function optionalStringAt(v: unknown, where: string): string | undefined {
  return v === undefined || v === null ? undefined : stringAt(v, where);
}

/**
 * Checks that a list response had an "items" list (its items were handed
 * over as they streamed), or throws a ShapeError naming what is wrong.
 */
export function checkListItems(body: unknown, what: string): void {
  const list = objectAt(body, `${what} response`, false);
  if (!Array.isArray(list.items)) {
    throw new ShapeError(`${what} response has no "items" list`);
  }
}

/** The `metadata.continue` token of a list response, when more pages follow. */
export function continueToken(body: unknown, what: string): string | undefined {
  const meta = objectAt(
    objectAt(body, `${what} response`, false).metadata,
    `${what} response metadata`,
  );
  const token = meta.continue;
  if (token === undefined || token === null || token === "") return undefined;
  if (token instanceof Overlong) {
    throw new ShapeError(
      `${what} response metadata.continue is ${token.toJSON()}`,
    );
  }
  if (typeof token !== "string") {
    throw new ShapeError(`${what} response metadata.continue is not a string`);
  }
  return token;
}

/** A limits or requests map; a value too long to keep reads as a text that is no quantity. */
function resourceMap(v: unknown, where: string): Record<string, unknown> {
  const map = objectAt(v, where);
  for (const [name, value] of Object.entries(map)) {
    if (value instanceof Overlong) map[name] = value.toJSON();
  }
  return map;
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

/** A pod spec's containers as the rules take them; `where` names it in errors. */
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
        limits: resourceMap(resources.limits, `${at}.resources.limits`),
        requests: resourceMap(resources.requests, `${at}.resources.requests`),
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

/** A ServerConfig item as the rules take it. */
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

/** A Server item as the rules take it. */
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
