import { Duration, RemovalPolicy } from "aws-cdk-lib";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
} from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

/** What differs between this app's buckets. */
export interface SecureBucketProps {
  /** Where S3 writes the server access logs; omit only for the access-log bucket itself. */
  readonly accessLogs?: IBucket;
  /** Prefix of this bucket's logs in the access-log bucket. */
  readonly accessLogsPrefix?: string;
  /** Keep every version of an object (and get one event per write). */
  readonly versioned?: boolean;
  readonly lifecycleRules?: readonly LifecycleRule[];
}

/**
 * The house bucket: no public access, TLS 1.2+ only, SSE-S3 encryption, objects owned by the bucket
 * owner, retained when the stack is deleted (it holds data), and incomplete uploads cleaned up.
 */
export class SecureBucket extends Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id, {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: BucketEncryption.S3_MANAGED,
      versioned: props.versioned ?? false,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.accessLogs === undefined
        ? {}
        : {
            serverAccessLogsBucket: props.accessLogs,
            serverAccessLogsPrefix: props.accessLogsPrefix ?? `${id}/`,
          }),
      lifecycleRules: [
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}
