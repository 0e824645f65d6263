mod expand;
mod listing;
mod middleware;
mod route;
