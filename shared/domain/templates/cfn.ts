/**
 * The small slice of the CloudFormation template model the builders need: plain JSON plus the intrinsic
 * functions we use. Builders return these objects; the provisioner serialises them with `JSON.stringify`.
 */

/** Any JSON value a template may hold (intrinsic functions are JSON objects too). */
export type CfnValue =
  | string
  | number
  | boolean
  | null
  | readonly CfnValue[]
  | { readonly [key: string]: CfnValue };

/** One resource: its type, properties and the resource attributes we use. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: { readonly [key: string]: CfnValue };
  readonly DependsOn?: string | readonly string[];
  readonly DeletionPolicy?: "Delete" | "Retain" | "Snapshot";
  readonly UpdateReplacePolicy?: "Delete" | "Retain" | "Snapshot";
}

/** One template parameter. */
export interface CfnParameter {
  readonly Type: string;
  readonly Description?: string;
  readonly Default?: string;
  readonly NoEcho?: boolean;
  readonly AllowedPattern?: string;
  readonly MinLength?: number;
  readonly ConstraintDescription?: string;
}

/** One stack output. */
export interface CfnOutput {
  readonly Description?: string;
  readonly Value: CfnValue;
}

/** A whole template, as CloudFormation reads it. */
export interface CfnTemplate {
  readonly AWSTemplateFormatVersion: "2010-09-09";
  readonly Description: string;
  readonly Parameters?: { readonly [name: string]: CfnParameter };
  readonly Resources: { readonly [logicalId: string]: CfnResource };
  readonly Outputs?: { readonly [name: string]: CfnOutput };
}

/** `{ "Ref": name }`. */
export function ref(name: string): CfnValue {
  return { Ref: name };
}

/** `{ "Fn::GetAtt": [resource, attribute] }`. */
export function getAtt(resource: string, attribute: string): CfnValue {
  return { "Fn::GetAtt": [resource, attribute] };
}

/** `{ "Fn::Sub": text }`. */
export function sub(text: string): CfnValue {
  return { "Fn::Sub": text };
}

/** CloudFormation's description limit is 1,024 bytes; cluster names are short, but stay total. */
export function description(text: string): string {
  return text.length <= 1000 ? text : `${text.slice(0, 997)}...`;
}
