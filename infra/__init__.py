"""The cloud resources as code: the DynamoDB tables and the local stack."""
