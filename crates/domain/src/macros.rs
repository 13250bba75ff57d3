//! Shared plumbing for string-backed identifiers: Display, FromStr, serde through `parse`,
//! and an OpenAPI schema carrying the pattern and an example.

macro_rules! identifiant_texte {
    ($type:ident, $pattern:expr, $exemple:expr, $description:expr) => {
        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }

        impl $type {
            /// Regular expression every valid value matches (published in the OpenAPI schema).
            pub const PATTERN: &'static str = $pattern;
            /// A real, valid example.
            pub const EXEMPLE: &'static str = $exemple;
        }

        impl ::utoipa::PartialSchema for $type {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .min_length(Some($exemple.len()))
                    .max_length(Some($exemple.len()))
                    .description(Some($description))
                    .examples([::serde_json::Value::from($exemple)])
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $type {}
    };
}

pub(crate) use identifiant_texte;
