/**
 * Minimal typings for bpmn-moddle 10 (the package ships types for the BPMN meta-model under
 * `bpmn-moddle/types`, but none for its entry point). Only what workflow/bpmn.ts uses; model
 * properties are read through the index signature and checked at run time.
 */
declare module 'bpmn-moddle' {
  export interface ModdleElement {
    readonly $type: string;
    $parent?: ModdleElement;
    /** attributes outside the meta-model (e.g. vendor extensions, xmlns declarations) */
    $attrs: Record<string, unknown>;
    id?: string;
    name?: string;
    $instanceOf(type: string): boolean;
    get(name: string): unknown;
    set(name: string, value: unknown): void;
    [property: string]: unknown;
  }

  export interface PropertyDescriptor {
    name: string;
    type: string;
    isAttr?: boolean;
    isBody?: boolean;
    isMany?: boolean;
    isReference?: boolean;
  }

  export interface TypeDescriptor {
    name: string;
    superClass?: string[];
    extends?: string[];
    properties?: PropertyDescriptor[];
    meta?: Record<string, unknown>;
  }

  export interface PackageDescriptor {
    name: string;
    prefix: string;
    uri: string;
    xml?: { tagAlias?: 'lowerCase' };
    types: TypeDescriptor[];
    enumerations?: unknown[];
    associations?: unknown[];
  }

  export interface ParseWarning {
    message: string;
    element?: unknown;
    property?: string;
    value?: unknown;
    error?: Error;
  }

  export interface ParseResult {
    rootElement: ModdleElement;
    references: unknown[];
    warnings: ParseWarning[];
    elementsById: Record<string, ModdleElement>;
  }

  export class BpmnModdle {
    /** `packages`: extra meta-model packages by prefix, merged with bpmn, bpmndi, dc, di, bioc, color */
    constructor(packages?: Record<string, PackageDescriptor>, options?: { strict?: boolean });
    create(type: string, attrs?: Record<string, unknown>): ModdleElement;
    fromXML(xml: string, options?: { lax?: boolean }): Promise<ParseResult>;
    fromXML(xml: string, typeName: string, options?: { lax?: boolean }): Promise<ParseResult>;
    toXML(element: ModdleElement, options?: { format?: boolean; preamble?: boolean }): Promise<{ xml: string }>;
  }
}
