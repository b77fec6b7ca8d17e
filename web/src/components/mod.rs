//! The dashboard's views, one component per file.

pub mod clm_form;
pub mod connect_form;
pub mod connections;
pub mod filter_bar;
pub mod job_detail;
pub mod job_table;
pub mod notifications;
pub mod overview;
pub mod param_field;
pub mod result_tree;
pub mod status_bar;
pub mod submit_form;
pub mod times_field;
