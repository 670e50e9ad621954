//! Merging a user's own account block over its roles' blocks, on typed blocks:
//! a field the upper block sets wins, nested blocks merge field by field, maps
//! merge key by key, and lists are replaced whole.

use std::collections::BTreeMap;

pub trait Merge {
    /// Lays `over` on top of `self`.
    fn merge(&mut self, over: &Self);
}

impl<T: Merge + Clone> Merge for Option<T> {
    fn merge(&mut self, over: &Self) {
        match (self.as_mut(), over) {
            (_, None) => {}
            (Some(base), Some(over)) => base.merge(over),
            (None, Some(over)) => *self = Some(over.clone()),
        }
    }
}

impl<V: Clone> Merge for BTreeMap<String, V> {
    fn merge(&mut self, over: &Self) {
        self.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

impl<T: Clone> Merge for Vec<T> {
    fn merge(&mut self, over: &Self) {
        self.clone_from(over);
    }
}

/// Values merged by replacement: `merge_by_replacing!(bool, MyEnum)`.
#[macro_export]
macro_rules! merge_by_replacing {
    ($($t:ty),+ $(,)?) => {
        $(impl $crate::model::Merge for $t {
            fn merge(&mut self, over: &Self) {
                self.clone_from(over);
            }
        })+
    };
}

/// Structs merged field by field: `merge_fields!(Account { a, b, c })`.
#[macro_export]
macro_rules! merge_fields {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::model::Merge for $name {
            fn merge(&mut self, over: &Self) {
                $($crate::model::Merge::merge(&mut self.$field, &over.$field);)+
            }
        }
    };
}

merge_by_replacing!(bool, String, u64, i64, serde_json::Value);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Default, PartialEq)]
    struct Inner {
        a: Option<bool>,
        b: Option<bool>,
    }
    merge_fields!(Inner { a, b });

    #[derive(Clone, Debug, Default, PartialEq)]
    struct Block {
        name: Option<String>,
        inner: Option<Inner>,
        list: Option<Vec<String>>,
        map: BTreeMap<String, String>,
    }
    merge_fields!(Block {
        name,
        inner,
        list,
        map
    });

    #[test]
    fn upper_wins_nested_merge_lists_replace_maps_extend() {
        let mut base = Block {
            name: Some("role".into()),
            inner: Some(Inner {
                a: Some(true),
                b: Some(true),
            }),
            list: Some(vec!["x".into(), "y".into()]),
            map: [
                ("k1".to_string(), "1".to_string()),
                ("k2".into(), "2".into()),
            ]
            .into(),
        };
        let over = Block {
            name: None,
            inner: Some(Inner {
                a: None,
                b: Some(false),
            }),
            list: Some(vec![]),
            map: [("k2".to_string(), "two".to_string())].into(),
        };
        base.merge(&over);
        assert_eq!(base.name.as_deref(), Some("role"));
        assert_eq!(
            base.inner,
            Some(Inner {
                a: Some(true),
                b: Some(false)
            })
        );
        assert_eq!(base.list, Some(vec![]));
        assert_eq!(base.map["k1"], "1");
        assert_eq!(base.map["k2"], "two");
    }
}
