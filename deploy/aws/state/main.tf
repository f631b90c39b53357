# The bucket that keeps Terraform's state for deploy/aws/serving: created once, by hand, with
# this small configuration (its own state stays on your disk: there is nowhere else yet).
#
#   terraform init && terraform apply -var state_bucket=movierec-tfstate-<something unique>
#
# Versioning keeps every earlier state: a bad apply or a corrupted state is one restore away.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "region" {
  description = "The AWS region of the bucket (the same as the serving stack's)."
  type        = string
  default     = "eu-central-1"
}

variable "state_bucket" {
  description = "The bucket's name: unique across all of S3, e.g. movierec-tfstate-<your initials>-<digits>."
  type        = string
}

provider "aws" {
  region = var.region
}

resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket

  lifecycle {
    prevent_destroy = true # losing the state means Terraform forgets what it created
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # a state file can hold secrets: never store it in the clear
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

output "state_bucket" {
  description = "Give it to the serving stack: terraform init -backend-config=bucket=<this>."
  value       = aws_s3_bucket.state.bucket
}
