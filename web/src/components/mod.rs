//! The dashboard's views, one component per file.

pub mod connect_form;
pub mod job_detail;
pub mod job_table;
pub mod submit_form;
