//! An S3 multipart upload as a [`PartSink`].

use super::{ExportError, PartSink};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

/// Streams an object into S3 part by part.
pub struct S3MultipartSink {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
}

fn s3_error<E: std::error::Error>(operation: &'static str, e: E) -> ExportError {
    ExportError::S3 {
        operation,
        detail: DisplayErrorContext(&e).to_string(),
    }
}

impl S3MultipartSink {
    /// Starts a multipart upload of `key` in `bucket`.
    pub async fn start(
        s3: aws_sdk_s3::Client,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> Result<Self, ExportError> {
        let out = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", e))?;
        let upload_id = out.upload_id.ok_or_else(|| ExportError::S3 {
            operation: "CreateMultipartUpload",
            detail: "no upload id".into(),
        })?;
        Ok(Self {
            s3,
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            parts: Vec::new(),
        })
    }
}

impl PartSink for S3MultipartSink {
    async fn put_part(&mut self, bytes: Vec<u8>) -> Result<(), ExportError> {
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let out = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_error("UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn complete(self) -> Result<(), ExportError> {
        self.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_error("CompleteMultipartUpload", e))?;
        Ok(())
    }

    async fn abort(self) {
        if let Err(e) = self
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
        {
            // The bucket's lifecycle rule cleans up abandoned uploads as well.
            tracing::warn!(error = %DisplayErrorContext(&e), key = %self.key, "could not abort export upload");
        }
    }
}
