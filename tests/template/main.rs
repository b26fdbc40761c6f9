//! The SAM template checked against the code: functions, routes, the table
//! and the permissions each function's code needs.

mod consistency;
mod permissions;
