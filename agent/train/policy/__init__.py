"""Training the embedded policy: the offline augmenter, teacher-forced examples and the act-model trainer."""
