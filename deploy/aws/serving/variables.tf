variable "region" {
  description = "The AWS region to run in."
  type        = string
  default     = "eu-central-1"
}

variable "name" {
  description = "The prefix of every resource's name."
  type        = string
  default     = "movierec"
}

variable "model_data_url" {
  description = "s3://BUCKET/KEY of model.tar.gz: a model directory plus code/inference.py (deploy/aws/README.md)."
  type        = string
}

variable "inference_image" {
  description = "AWS's PyTorch inference container for your region (a CPU image of the AWS Deep Learning Containers)."
  type        = string
}

variable "lambda_zip" {
  description = "The thin API's code: a zip holding lambda_api.py (deploy/aws/README.md)."
  type        = string
  default     = "build/lambda_api.zip"
}

variable "memory_mb" {
  description = "Memory of the serverless endpoint: torch and the model need about 1 GB; CPU grows with it."
  type        = number
  default     = 3072
}
