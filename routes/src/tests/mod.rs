mod expand;
mod listing;
mod route;
