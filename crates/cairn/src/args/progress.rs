use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct WhereArgs {}

#[derive(Debug, Subcommand)]
pub enum ProgressCommand {}
